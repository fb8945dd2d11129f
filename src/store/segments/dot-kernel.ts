/**
 * Dot products of one query against many vectors, four lanes at a time: a WebAssembly module
 * using 128-bit SIMD (in every Node Sluice supports), assembled here from its opcodes so nothing
 * is compiled at install. About four times a scalar JavaScript loop. Vectors live in the module's
 * memory: [query | scores | vectors], each vector `dimensions` floats, `dimensions` a multiple of 8.
 *
 * @example
 * const kernel = DotKernel.create(256, 64_000); // null where WebAssembly SIMD is missing
 * kernel.vectors.set(unitVectors);
 * const scores = kernel.scores(query); // Float32Array, one per vector
 */
/** The part of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export class DotKernel {
  readonly dimensions: number;
  readonly rows: number;
  /** The vectors, row after row, in the module's memory: fill them before the first `scores`. */
  readonly vectors: Float32Array;
  readonly #query: Float32Array;
  readonly #out: Float32Array;
  readonly #scores: ScoresFn;

  private constructor(
    dimensions: number,
    rows: number,
    memory: { buffer: ArrayBuffer },
    exports: Record<string, unknown>,
  ) {
    this.dimensions = dimensions;
    this.rows = rows;
    const queryBytes = dimensions * 4;
    const outBytes = align16(rows * 4);
    this.#query = new Float32Array(memory.buffer, 0, dimensions);
    this.#out = new Float32Array(memory.buffer, queryBytes, rows);
    this.vectors = new Float32Array(memory.buffer, queryBytes + outBytes, rows * dimensions);
    this.#scores = exports.scores as ScoresFn;
  }

  /** A kernel for `rows` vectors, or null: dimensions not a multiple of 8, over 4 GiB, or no SIMD. */
  static create(dimensions: number, rows: number): DotKernel | null {
    if (dimensions % 8 !== 0 || dimensions === 0) return null;
    const bytes = dimensions * 4 + align16(rows * 4) + rows * dimensions * 4;
    const pages = Math.ceil(bytes / 65536) || 1;
    if (pages > 65536 || !wasm.validate(MODULE)) return null;
    const memory = new wasm.Memory({ initial: pages });
    const instance = new wasm.Instance(new wasm.Module(MODULE), { env: { memory } });
    return new DotKernel(dimensions, rows, memory, instance.exports);
  }

  /** One dot product per vector; the array is the kernel's own, overwritten by the next call. */
  scores(query: Float32Array): Float32Array {
    this.setQuery(query);
    this.scoreRange(0, this.rows);
    return this.#out;
  }

  /** Sets the query the next {@link scoreRange} calls score against. */
  setQuery(query: Float32Array): void {
    this.#query.set(query);
  }

  /** Scores rows `start` to `end` (exclusive) into {@link out} at the same places. */
  scoreRange(start: number, end: number): void {
    const queryBytes = this.dimensions * 4;
    const base = queryBytes + align16(this.rows * 4) + start * queryBytes;
    this.#scores(0, base, end - start, queryBytes, queryBytes + start * 4);
  }

  /** The scores of the last calls, one per row: the kernel's own array. */
  get out(): Float32Array {
    return this.#out;
  }
}

type ScoresFn = (q: number, base: number, rows: number, dimBytes: number, out: number) => void;

const align16 = (n: number) => Math.ceil(n / 16) * 16;

// ---- the module, from its opcodes (WebAssembly core 2.0 with SIMD) ----

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Shl: 0x74,
  f32Add: 0x92,
  f32Store: 0x38,
} as const;
const simd = {
  load: [0xfd, 0x00],
  zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
  lane: (i: number) => [0xfd, 0x1f, i],
} as const;

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const name = (s: string) => [...leb(s.length), ...Buffer.from(s, "ascii")];

// Locals: params q 0, base 1, rows 2, dimBytes 3, out 4; then r 5, j 6, p 7 (i32), a0 8, a1 9 (v128).
const [Q, BASE, ROWS, DIMBYTES, OUT, R, J, P, A0, A1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
/** acc += v128.load(p + j + offset) * v128.load(q + j + offset), lane-wise. */
const multiplyAdd = (acc: number, offset: number) => [
  op.get, acc,
  op.get, P, op.get, J, op.i32Add, ...simd.load, 0, ...leb(offset),
  op.get, Q, op.get, J, op.i32Add, ...simd.load, 0, ...leb(offset),
  ...simd.f32x4Mul, ...simd.f32x4Add, op.set, acc,
]; // prettier-ignore

const BODY = [
  2, 3, I32, 2, V128, // locals
  op.get, BASE, op.set, P,
  op.block, 0x40,
  op.loop, 0x40,
  op.get, R, op.get, ROWS, op.i32GeU, op.brIf, 1,
  ...simd.zero, op.set, A0,
  ...simd.zero, op.set, A1,
  op.i32Const, 0, op.set, J,
  op.loop, 0x40,
  ...multiplyAdd(A0, 0),
  ...multiplyAdd(A1, 16),
  op.get, J, op.i32Const, 32, op.i32Add, op.tee, J, op.get, DIMBYTES, op.i32LtU, op.brIf, 0,
  op.end,
  op.get, A0, op.get, A1, ...simd.f32x4Add, op.set, A0,
  op.get, OUT, op.get, R, op.i32Const, 2, op.i32Shl, op.i32Add,
  op.get, A0, ...simd.lane(0),
  op.get, A0, ...simd.lane(1), op.f32Add,
  op.get, A0, ...simd.lane(2), op.f32Add,
  op.get, A0, ...simd.lane(3), op.f32Add,
  op.f32Store, 2, 0,
  op.get, P, op.get, DIMBYTES, op.i32Add, op.set, P,
  op.get, R, op.i32Const, 1, op.i32Add, op.set, R,
  op.br, 0,
  op.end,
  op.end,
  op.end,
]; // prettier-ignore

const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 0]), // type: (i32 × 5) → ()
  ...section(2, [1, ...name("env"), ...name("memory"), 0x02, 0x00, 0x01]), // import env.memory, min 1 page
  ...section(3, [1, 0]), // one function of type 0
  ...section(7, [1, ...name("scores"), 0x00, 0]),
  ...section(10, [1, ...leb(BODY.length), ...BODY]),
]);
