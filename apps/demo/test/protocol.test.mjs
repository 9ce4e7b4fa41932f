// The chat protocol over a real socket, in process: handshake rules, validation, presence,
// counts, heartbeat, shutdown. The browser end-to-end test is demo.e2e.test.mjs.
import { request } from "node:http";
import { connect, HandshakeRejectedError } from "@ws/node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { startChatServer } from "../src/chat.mjs";
import { LIMITS, ProtocolViolation, parseClientMessage } from "../src/protocol.mjs";
import { chatClient, ofType } from "./helpers.mjs";

/** @type {Awaited<ReturnType<typeof startChatServer>>} */
let chat;
beforeEach(async () => {
  chat = await startChatServer({ port: 0, heartbeat: { interval: 200, timeout: 200 }, statsDelay: 5 });
});
afterEach(async () => {
  await chat.close(500);
});

/** @param {string} url @param {string} [method] */
function get(url, method = "GET") {
  return new Promise((resolve, reject) => {
    request(url, { method }, (res) => {
      let body = "";
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    })
      .on("error", reject)
      .end();
  });
}

describe("handshake", () => {
  it("accepts the chat subprotocol", async () => {
    const client = await chatClient(chat.url);
    expect(client.ws.protocol).toBe("chat");
    expect(await client.next(ofType("stats"))).toMatchObject({ total: 0, online: 1 });
    client.ws.close();
  });

  it("rejects a wrong or missing subprotocol with 400 and says why", async () => {
    for (const protocols of [["superchat"], []]) {
      const error = await connect(`${chat.url.replace("http", "ws")}/chat`, { protocols }).catch((e) => e);
      expect(error).toBeInstanceOf(HandshakeRejectedError);
      expect(error.status).toBe(400);
      expect(error.body).toMatch(/requires the WebSocket subprotocol "chat"/);
    }
  });

  it("rejects a page from another origin with 403", async () => {
    const error = await connect(`${chat.url.replace("http", "ws")}/chat`, {
      protocols: ["chat"],
      origin: "https://evil.example",
    }).catch((e) => e);
    expect(error.status).toBe(403);
    const same = await connect(`${chat.url.replace("http", "ws")}/chat`, {
      protocols: ["chat"],
      origin: chat.url,
    });
    expect(same.protocol).toBe("chat");
    same.close();
  });

  it("answers 400 for other WebSocket paths and serves the page over plain HTTP", async () => {
    const error = await connect(`${chat.url.replace("http", "ws")}/nope`, { protocols: ["chat"] }).catch(
      (e) => e,
    );
    expect(error.status).toBe(400);
    const page = await get(`${chat.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.body).toContain('<script type="module" src="/app.js">');
    expect((await get(`${chat.url}/app.js`)).headers["content-type"]).toMatch(/javascript/);
    expect((await get(`${chat.url}/style.css`)).headers["content-type"]).toMatch(/text\/css/);
    expect((await get(`${chat.url}/chat`)).status).toBe(426);
    expect((await get(`${chat.url}/missing`)).status).toBe(404);
    expect((await get(`${chat.url}/`, "POST")).status).toBe(405);
  });
});

describe("chat", () => {
  it("joins, shows presence, relays messages and counts them per room and in total", async () => {
    const ada = await chatClient(chat.url);
    ada.send({ type: "join", room: "Lobby", nick: "  ada " });
    expect(await ada.next(ofType("welcome"))).toMatchObject({ room: "lobby", nick: "ada", members: ["ada"] });

    const bob = await chatClient(chat.url);
    bob.send({ type: "join", room: "lobby", nick: "bob" });
    expect(await bob.next(ofType("welcome"))).toMatchObject({ members: ["ada", "bob"], history: [] });
    expect(await ada.next(ofType("presence"))).toMatchObject({
      event: "join",
      nick: "bob",
      members: ["ada", "bob"],
    });

    bob.send({ type: "message", room: "lobby", text: "hello ada" });
    const received = await ada.next(ofType("message"));
    expect(received).toMatchObject({ room: "lobby", nick: "bob", text: "hello ada" });
    expect(await bob.next(ofType("message"))).toEqual(received);
    expect(await ada.next((m) => m.type === "stats" && m.total === 1)).toMatchObject({
      rooms: [{ room: "lobby", members: 2, messages: 1 }],
    });

    // Another room: its own count, the same total.
    const cy = await chatClient(chat.url);
    cy.send({ type: "join", room: "dev", nick: "cy" });
    await cy.next(ofType("welcome"));
    cy.send({ type: "message", text: "first in dev" });
    const stats = await ada.next((m) => m.type === "stats" && m.total === 2);
    expect(stats.rooms).toEqual([
      { room: "lobby", members: 2, messages: 1 },
      { room: "dev", members: 1, messages: 1 },
    ]);

    // A newcomer gets the history.
    const dan = await chatClient(chat.url);
    dan.send({ type: "join", room: "lobby", nick: "dan" });
    expect((await dan.next(ofType("welcome"))).history).toEqual([received]);

    bob.ws.close();
    expect(await ada.next((m) => m.type === "presence" && m.event === "leave")).toMatchObject({
      nick: "bob",
      members: ["ada", "dan"],
    });
    for (const c of [ada, cy, dan]) c.ws.close();
  });

  it("answers bad fields with an error message and keeps the connection", async () => {
    const client = await chatClient(chat.url);
    client.send({ type: "message", text: "before joining" });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "not-joined" });
    client.send({ type: "join", room: "no spaces!", nick: "x" });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "bad-room" });
    client.send({ type: "join", room: "ok", nick: "x".repeat(LIMITS.nick + 1) });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "bad-nick" });
    client.send({ type: "join", room: "ok", nick: "eve" });
    await client.next(ofType("welcome"));
    client.send({ type: "message", text: "y".repeat(LIMITS.text + 1) });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "bad-text" });
    client.send({ type: "message", text: "   " });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "bad-text" });
    client.send({ type: "message", room: "elsewhere", text: "hi" });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "not-in-room" });
    client.send({ type: "message", text: "still here" });
    expect(await client.next(ofType("message"))).toMatchObject({ text: "still here", nick: "eve" });
    client.ws.close();
  });

  it("rate-limits a flood with error messages", async () => {
    const client = await chatClient(chat.url);
    client.send({ type: "join", room: "flood", nick: "f" });
    await client.next(ofType("welcome"));
    for (let i = 0; i < 15; i++) client.send({ type: "message", text: `m${i}` });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "rate-limited" });
    client.ws.close();
  });
});

describe("garbage", () => {
  const cases = [
    ["malformed JSON", "{not json", "bad-json"],
    ["a JSON array", "[1,2]", "bad-message"],
    ["JSON null", "null", "bad-message"],
    ["an unknown type", '{"type":"shout"}', "bad-type"],
    ["no type", '{"room":"x"}', "bad-type"],
  ];
  for (const [what, data, code] of cases) {
    it(`closes with 1008 after ${what}, and the server keeps serving`, async () => {
      const client = await chatClient(chat.url);
      client.send(data);
      expect(await client.next(ofType("error"))).toMatchObject({ code });
      expect(await client.closed).toMatchObject({ code: 1008, wasClean: true });
      const other = await chatClient(chat.url);
      other.send({ type: "join", room: "after", nick: "ok" });
      expect(await other.next(ofType("welcome"))).toMatchObject({ nick: "ok" });
      other.ws.close();
    });
  }

  it("closes with 1008 on a binary message and 1009 on an oversized one", async () => {
    const binary = await chatClient(chat.url);
    binary.ws.send(new Uint8Array([1, 2, 3]));
    expect(await binary.closed).toMatchObject({ code: 1008 });
    const big = await chatClient(chat.url);
    big.send(JSON.stringify({ type: "message", text: "z".repeat(LIMITS.frame) }));
    expect((await big.closed).code).toBe(1009);
  });

  it("parseClientMessage never throws anything but ProtocolViolation", () => {
    const inputs = [
      "",
      "1",
      '"s"',
      "{}",
      '{"type":"join"}',
      '{"type":"join","room":5,"nick":[]}',
      "\u0000",
      "{".repeat(10_000),
    ];
    for (const input of inputs) {
      try {
        parseClientMessage(input);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolViolation);
      }
    }
  });
});

describe("liveness and shutdown", () => {
  it("drops a peer that stops answering pings (heartbeat) and tells the room it left", async () => {
    const ada = await chatClient(chat.url);
    ada.send({ type: "join", room: "hb", nick: "ada" });
    await ada.next(ofType("welcome"));
    // A `ws` client that never answers pings: a dead peer as far as the server can tell.
    const ghost = new WsClient(`${chat.url.replace("http", "ws")}/chat`, "chat", { autoPong: false });
    await new Promise((resolve) => ghost.once("open", resolve));
    ghost.send(JSON.stringify({ type: "join", room: "hb", nick: "ghost" }));
    expect(await ada.next((m) => m.type === "presence" && m.event === "join")).toMatchObject({
      nick: "ghost",
    });
    const left = await ada.next((m) => m.type === "presence" && m.event === "leave", 3000);
    expect(left).toMatchObject({ nick: "ghost", members: ["ada"] });
    ghost.terminate();
    ada.ws.close();
  });

  it("closes every connection with 1001 on shutdown", async () => {
    const a = await chatClient(chat.url);
    const b = await chatClient(chat.url);
    await chat.close(1000);
    expect(await a.closed).toMatchObject({ code: 1001, reason: "server shutting down" });
    expect(await b.closed).toMatchObject({ code: 1001 });
    const error = await get(`${chat.url}/`).catch((e) => e);
    expect(error.code).toBe("ECONNREFUSED");
  });
});
