// Helpers of the demo tests: a JSON chat client with a message queue, on our own @ws/node client.
import { connect } from "@ws/node";

/**
 * Opens a chat connection (subprotocol `chat`) and collects its JSON messages.
 * @param {string} httpUrl the demo's http://host:port
 */
export async function chatClient(httpUrl, { protocols = ["chat"] } = {}) {
  const ws = await connect(`${httpUrl.replace(/^http/, "ws")}/chat`, { protocols });
  /** @type {any[]} */
  const inbox = [];
  /** @type {{ test: (m: any) => boolean, resolve: (m: any) => void }[]} */
  const waiters = [];
  const closed = new Promise((resolve) => {
    ws.addEventListener("close", (event) =>
      resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean }),
    );
  });
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    const index = waiters.findIndex((w) => w.test(message));
    if (index === -1) inbox.push(message);
    else waiters.splice(index, 1)[0].resolve(message);
  });
  return {
    ws,
    closed,
    /** @param {any} message */
    send: (message) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
    /**
     * The next message (queued or to come) that matches `test`.
     * @param {(m: any) => boolean} test
     */
    next(test = () => true, timeout = 5000) {
      const index = inbox.findIndex(test);
      if (index !== -1) return Promise.resolve(inbox.splice(index, 1)[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no matching message in time")), timeout);
        waiters.push({
          test,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
  };
}

/** @param {string} type */
export const ofType = (type) => (/** @type {any} */ m) => m.type === type;
