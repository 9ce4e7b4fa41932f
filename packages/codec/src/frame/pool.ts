/**
 * A slab allocator for small outbound frames. Allocating a fresh `ArrayBuffer` per small frame
 * costs far more than the frame's bytes (V8 gives every typed array its own backing store), so
 * small frames are carved out of a shared 64 KiB slab, as Node's `Buffer.allocUnsafe` does with
 * its 8 KiB pool. A slab is never written again once handed out: a new one replaces it when
 * full, and the old one is freed when its last frame is.
 *
 * @module
 */

const SLAB_SIZE = 64 * 1024;
/** Larger requests get their own buffer: at most 1/8 of a slab can be wasted per frame. */
export const POOLED_MAX: number = SLAB_SIZE >>> 3;

// The slab's ArrayBuffer, kept: a view made with `new Uint8Array(buffer, offset, length)` costs
// half of `subarray()` on V8 (which looks up the species constructor), and reading `.buffer`
// again each time costs on JavaScriptCore.
let slab = new ArrayBuffer(0);
let slabOffset = SLAB_SIZE;
// The most recent slab allocation and where it starts, for shrinkFrame(): compared by identity,
// because reading a view's `buffer` and `byteOffset` is slow on JavaScriptCore.
let lastView: Uint8Array | undefined;
let lastStart = 0;

/**
 * Returns a zero-based view of `size` bytes, from the shared slab when it is small. Sizes up to
 * `freshUpTo` get a fresh array instead: on JavaScriptCore a small fresh array costs less than
 * a view of the slab, on V8 much more (see `ConnectionOptions.copyPayloadsUpTo`).
 */
export function allocateFrame(size: number, freshUpTo = 0): Uint8Array {
  if (size > POOLED_MAX || size <= freshUpTo) return new Uint8Array(size);
  if (slabOffset + size > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabOffset = 0;
  }
  const view = new Uint8Array(slab, slabOffset, size);
  lastView = view;
  lastStart = slabOffset;
  // Keep the next view 8-byte aligned so word-at-a-time masking applies.
  slabOffset = (slabOffset + size + 7) & ~7;
  return view;
}

/**
 * Gives back the unused end of the most recent allocation, when `view` is that allocation and
 * only its first `used` bytes are kept (text is encoded into a worst-case-sized buffer first).
 * Returns the kept part.
 */
export function shrinkFrame(view: Uint8Array, used: number): Uint8Array {
  if (view === lastView) {
    slabOffset = (lastStart + used + 7) & ~7;
    lastView = undefined;
  }
  return view.subarray(0, used);
}
