import { openSqlite, type SqliteDatabase } from "../../db/open-sqlite.ts";

/**
 * The durable side of the static embedder: the teacher's vectors for vocabulary pieces and for
 * words, in one SQLite file of the data folder (WAL, synchronous=FULL, as every embedded store).
 * Raw teacher vectors are stored, not the composed ones, so changing the weighting parameter
 * reuses them; beside them, the piece table's mean and first principal component, computed once
 * (a few seconds) and then read at every start. A file written by another teacher is emptied on
 * open. Several processes may share the file: writes are `INSERT OR IGNORE`, and the same word
 * always gets the same vector.
 *
 * @example
 * const store = new StaticVectorStore(join(dataDir, "static-embedder.db"), teacher.id, 512);
 * store.putWords([["cat", vector]]);
 * store.getWord("cat"); // Float32Array(512)
 */
export class StaticVectorStore {
  readonly #db: SqliteDatabase;
  readonly #dimensions: number;
  readonly #getWord;
  readonly #putWord;
  readonly #putPiece;
  readonly #getPiece;

  constructor(path: string, teacherId: string, dimensions: number) {
    this.#dimensions = dimensions;
    this.#db = openSqlite(path);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS static_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS static_pieces (id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS static_words (word TEXT PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS static_common (name TEXT PRIMARY KEY, vector BLOB NOT NULL);
    `);
    this.#db
      .transaction(() => {
        const row = this.#db.prepare("SELECT value FROM static_meta WHERE key = 'teacher'").get() as
          { value: string } | undefined;
        if (row?.value === teacherId) return;
        // Vectors of another teacher (or none yet): start over rather than mix them.
        this.#db.exec("DELETE FROM static_pieces; DELETE FROM static_words; DELETE FROM static_common;");
        this.#db.prepare("INSERT OR REPLACE INTO static_meta (key, value) VALUES ('teacher', ?)").run(teacherId);
      })
      .immediate();
    this.#getWord = this.#db.prepare("SELECT vector FROM static_words WHERE word = ?").pluck();
    this.#putWord = this.#db.prepare("INSERT OR IGNORE INTO static_words (word, vector) VALUES (?, ?)");
    this.#putPiece = this.#db.prepare("INSERT OR IGNORE INTO static_pieces (id, vector) VALUES (?, ?)");
    this.#getPiece = this.#db.prepare("SELECT vector FROM static_pieces WHERE id = ?").pluck();
  }

  /**
   * Number of piece vectors stored. They are written in one transaction, ids 0…n−1, so the largest
   * id tells (count(*) would read all 16 MB of them at every start).
   */
  pieceCount(): number {
    return this.#db.prepare("SELECT coalesce(max(id) + 1, 0) FROM static_pieces").pluck().get() as number;
  }

  getPiece(id: number): Float32Array | undefined {
    const blob = this.#getPiece.get(id) as Buffer | undefined;
    return blob === undefined ? undefined : this.#decode(blob);
  }

  /** The stored mean and component of the piece table, if computed. */
  getCommon(): { mean: Float32Array; component: Float32Array } | undefined {
    const rows = this.#db.prepare("SELECT name, vector FROM static_common").all() as Array<{
      name: string;
      vector: Buffer;
    }>;
    const mean = rows.find((r) => r.name === "mean");
    const component = rows.find((r) => r.name === "component");
    if (!mean || !component) return undefined;
    return { mean: this.#decode(mean.vector), component: this.#decode(component.vector) };
  }

  /** Stores the pieces' mean and component unless another process already did (the first one stays). */
  putCommon(common: { mean: Float32Array; component: Float32Array }): void {
    const put = this.#db.prepare("INSERT OR IGNORE INTO static_common (name, vector) VALUES (?, ?)");
    this.#db
      .transaction(() => {
        put.run("mean", encode(common.mean));
        put.run("component", encode(common.component));
      })
      .immediate();
  }

  putPieces(vectors: readonly Float32Array[]): void {
    this.#db.transaction(() => vectors.forEach((v, id) => this.#putPiece.run(id, encode(v)))).immediate();
  }

  getWord(word: string): Float32Array | undefined {
    const blob = this.#getWord.get(word) as Buffer | undefined;
    return blob === undefined ? undefined : this.#decode(blob);
  }

  putWords(entries: ReadonlyArray<readonly [string, Float32Array]>): void {
    this.#db.transaction(() => entries.forEach(([w, v]) => this.#putWord.run(w, encode(v)))).immediate();
  }

  /** Number of words stored. */
  wordCount(): number {
    return this.#db.prepare("SELECT count(*) FROM static_words").pluck().get() as number;
  }

  close(): void {
    this.#db.close();
  }

  #decode(blob: Buffer): Float32Array {
    if (blob.byteLength !== this.#dimensions * 4) {
      throw new RangeError(`stored vector has ${blob.byteLength / 4} dimensions, expected ${this.#dimensions}`);
    }
    // Copy: the Buffer may be a view into a larger, reused allocation.
    return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  }
}

function encode(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
