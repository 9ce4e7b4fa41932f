/**
 * Bulk masking (RFC 6455 §5.3) in WebAssembly SIMD: 16 bytes per instruction, where the
 * runtime has the fixed-width SIMD proposal (every current browser, Node, Deno and Bun). The
 * module is a few hand-written bytes below, not a native addon or a build artefact, so it works
 * wherever WebAssembly does; where it does not (no WebAssembly, no SIMD, or a Content Security
 * Policy that forbids compiling it), {@link maskIntoSimd} returns false and the caller masks in
 * JavaScript.
 *
 * WebAssembly code can only reach its own linear memory, so payloads are masked in blocks: copy
 * a block in, XOR it there, copy it out to the target. The two copies are plain memory copies
 * (`TypedArray.prototype.set`), which the runtimes do several times faster than a JavaScript
 * XOR loop, so the whole still beats the JavaScript word loop several times over for anything
 * but short payloads. A block is small enough to stay in the CPU's first-level data cache
 * (32 KiB or more on current x86 and Arm cores) between the copy in, the XOR and the copy out,
 * so only the copy in reads the source from further away and only the copy out writes the
 * target; larger blocks spill, and smaller ones pay the per-block calls more often.
 *
 * @module
 */

/** The subset of the WebAssembly JavaScript API used here (typed locally: the codec has no ambient types). */
interface WebAssemblyLike {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: object,
  ) => {
    readonly exports: { readonly memory: { readonly buffer: ArrayBuffer }; readonly mask: MaskFunction };
  };
}

/** `mask(start, end, key)`: XORs bytes [start, end rounded up to 64 past start) of the memory with the key word. */
type MaskFunction = (start: number, end: number, key: number) => void;

/** Bytes masked per call into the module: a block stays in the first-level data cache. */
export const SIMD_BLOCK: number = 8 * 1024;
/**
 * A page of the address space (not a WebAssembly page): a block starts anywhere in the
 * memory's first 4 KiB (see {@link scratchStart}). The module's WebAssembly page (64 KiB) holds
 * that, the block and the loop's overrun of up to 63 bytes.
 */
const PAGE = 4096;

/** One section of a module: id, size (all ours are under 128 bytes: one LEB128 byte), content. */
function section(id: number, content: readonly number[]): number[] {
  return [id, content.length, ...content];
}

/** A name as WebAssembly encodes it: length, then the bytes (ASCII here). */
function name(text: string): number[] {
  return [text.length, ...Array.from(text, (char) => char.charCodeAt(0))];
}

/** `v128.store offset=N (local.get i) (v128.xor (v128.load offset=N (local.get i)) (local.get k))`. */
function maskVector(offset: number): number[] {
  return [
    [0x20, 0], // local.get $i (store address)
    [0x20, 0], // local.get $i (load address)
    [0xfd, 0x00, 4, offset], // v128.load align=16 offset
    [0x20, 3], // local.get $k
    [0xfd, 0x51], // v128.xor
    [0xfd, 0x0b, 4, offset], // v128.store align=16 offset
  ].flat();
}

/**
 * The module, in the WebAssembly binary format (Core Specification 2.0 §5, SIMD §5.4.8):
 *
 *     (module
 *       (memory (export "memory") 1)
 *       (func (export "mask") (param $i i32) (param $end i32) (param $key i32) (local $k v128)
 *         (local.set $k (i32x4.splat (local.get $key)))
 *         (block (loop
 *           (br_if 1 (i32.ge_u (local.get $i) (local.get $end)))
 *           ;; four vectors (64 bytes) per iteration, at offsets 0, 16, 32, 48
 *           (v128.store offset=0 (local.get $i) (v128.xor (v128.load offset=0 (local.get $i)) (local.get $k)))
 *           …
 *           (local.set $i (i32.add (local.get $i) (i32.const 64)))
 *           (br 0)))))
 *
 * The loop runs over whole 64-byte steps, so it may XOR up to 63 bytes past `end`: the memory
 * has room for that behind a block, and those bytes are never copied out.
 */
function moduleBytes(): Uint8Array {
  const body = [
    ...[1, 1, 0x7b], // locals: one v128 ($k, local 3 after the three parameters)
    ...[0x20, 2, 0xfd, 0x11, 0x21, 3], // $k = i32x4.splat($key)
    ...[0x02, 0x40, 0x03, 0x40], // block, loop
    ...[0x20, 0, 0x20, 1, 0x4f, 0x0d, 1], // br_if 1 ($i >= $end)
    ...maskVector(0),
    ...maskVector(16),
    ...maskVector(32),
    ...maskVector(48),
    ...[0x20, 0, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0], // $i += 64
    ...[0x0c, 0, 0x0b, 0x0b, 0x0b], // br 0, end loop, end block, end func
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]), // types: (i32, i32, i32) -> ()
    ...section(3, [1, 0]), // functions: one, of type 0
    ...section(5, [1, 0x00, 1]), // memories: one, 1 page minimum, no maximum
    ...section(7, [2, ...name("memory"), 0x02, 0, ...name("mask"), 0x00, 0]), // exports
    ...section(10, [1, body.length, ...body]), // code
  ]);
}

/**
 * Where in the memory to put a block. A forward memory copy whose target lies a few bytes
 * after its source modulo 4 KiB runs many times slower on x86 (loads alias the stores just
 * made: "4K aliasing"), and JavaScriptCore's copies hit it: Bun copied a block out to a payload
 * 6 bytes into its buffer at a tenth of the speed. So the block goes half a page away from both
 * the source and the target, taking their offsets in their buffers for their addresses modulo
 * 4 KiB (true of page-aligned buffers, and the large ones are).
 */
function scratchStart(sourceOffset: number, targetOffset: number): number {
  const start = (targetOffset + PAGE / 2) & (PAGE - 1);
  // Copying in, the block is the target: keep it out of the 64 bytes after the source too.
  const fromSource = (start - sourceOffset) & (PAGE - 1);
  return fromSource === 0 || fromSource >= 64 ? start : (start + 64) & (PAGE - 1);
}

interface SimdMasker {
  readonly memory: Uint8Array;
  readonly mask: MaskFunction;
  /** The view of a whole block at {@link SimdMasker.blockStart}, kept: most calls reuse it. */
  block: Uint8Array;
  blockStart: number;
}

/** undefined: not tried yet; null: unavailable. */
let masker: SimdMasker | null | undefined;

/** Compiles the module on first use; null where the runtime cannot (the caller falls back). */
function loadMasker(): SimdMasker | null {
  const wasm = (globalThis as unknown as { WebAssembly?: WebAssemblyLike }).WebAssembly;
  try {
    const bytes = moduleBytes();
    // validate() is false where the runtime lacks SIMD; compiling can also throw (CSP).
    if (wasm === undefined || !wasm.validate(bytes)) return null;
    // Synchronous compilation is allowed for modules this small everywhere, the browser's main
    // thread included (its limit is 4 KB).
    const { exports } = new wasm.Instance(new wasm.Module(bytes), {});
    const memory = new Uint8Array(exports.memory.buffer);
    return { memory, mask: exports.mask, block: memory.subarray(0, SIMD_BLOCK), blockStart: 0 };
  } catch {
    return null;
  }
}

/** Whether masking in WebAssembly SIMD is available in this runtime (compiles the module). */
export function simdMaskAvailable(): boolean {
  if (masker === undefined) masker = loadMasker();
  return masker !== null;
}

/**
 * Writes `source` XOR the masking key into `target` (which may be `source`, or overlap it at
 * the same position), starting at key byte `keyOffset`, in WebAssembly SIMD. Returns false, and
 * touches nothing, when SIMD is unavailable.
 */
export function maskIntoSimd(
  source: Uint8Array,
  maskingKey: Uint8Array,
  target: Uint8Array,
  keyOffset: number,
): boolean {
  if (masker === undefined) masker = loadMasker();
  if (masker === null) return false;
  const { memory, mask } = masker;
  // WebAssembly is little-endian: memory byte j of each word meets key byte (j + keyOffset) & 3.
  const key =
    (maskingKey[keyOffset & 3] as number) |
    ((maskingKey[(keyOffset + 1) & 3] as number) << 8) |
    ((maskingKey[(keyOffset + 2) & 3] as number) << 16) |
    ((maskingKey[(keyOffset + 3) & 3] as number) << 24) |
    0;
  const length = source.length;
  const start = scratchStart(source.byteOffset, target.byteOffset);
  let offset = 0;
  if (length >= SIMD_BLOCK) {
    if (masker.blockStart !== start) {
      masker.block = memory.subarray(start, start + SIMD_BLOCK);
      masker.blockStart = start;
    }
    const block = masker.block;
    // Every block but the last is SIMD_BLOCK long, a multiple of 4: the key phase stays the same.
    for (; offset + SIMD_BLOCK <= length; offset += SIMD_BLOCK) {
      block.set(source.subarray(offset, offset + SIMD_BLOCK));
      mask(start, start + SIMD_BLOCK, key);
      target.set(block, offset);
    }
  }
  if (offset < length) {
    const rest = memory.subarray(start, start + length - offset);
    rest.set(offset === 0 ? source : source.subarray(offset));
    mask(start, start + rest.length, key);
    target.set(rest, offset);
  }
  return true;
}
