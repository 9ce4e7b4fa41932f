// Types of certificate.mjs (a throwaway self-signed TLS certificate).

/** A certificate for localhost / 127.0.0.1 (PEM text), valid for one day, or why not. */
export declare function selfSigned(): { cert: string; key: string } | string;
