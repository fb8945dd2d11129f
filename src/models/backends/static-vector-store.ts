import { openSqlite, type SqliteDatabase } from "../../db/open-sqlite.ts";

/**
 * The durable side of the static embedder: the teacher's vectors for vocabulary pieces and for
 * words, in one SQLite file of the data folder (WAL, synchronous=FULL, as every embedded store).
 * Raw teacher vectors are stored, not the composed ones, so changing the weighting parameter
 * reuses them. A file written by another teacher is emptied on open. Several processes may share
 * the file: writes are `INSERT OR IGNORE`, and the same word always gets the same vector.
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

  constructor(path: string, teacherId: string, dimensions: number) {
    this.#dimensions = dimensions;
    this.#db = openSqlite(path);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS static_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS static_pieces (id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS static_words (word TEXT PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID;
    `);
    this.#db
      .transaction(() => {
        const row = this.#db.prepare("SELECT value FROM static_meta WHERE key = 'teacher'").get() as
          { value: string } | undefined;
        if (row?.value === teacherId) return;
        // Vectors of another teacher (or none yet): start over rather than mix them.
        this.#db.exec("DELETE FROM static_pieces; DELETE FROM static_words;");
        this.#db.prepare("INSERT OR REPLACE INTO static_meta (key, value) VALUES ('teacher', ?)").run(teacherId);
      })
      .immediate();
    this.#getWord = this.#db.prepare("SELECT vector FROM static_words WHERE word = ?").pluck();
    this.#putWord = this.#db.prepare("INSERT OR IGNORE INTO static_words (word, vector) VALUES (?, ?)");
    this.#putPiece = this.#db.prepare("INSERT OR IGNORE INTO static_pieces (id, vector) VALUES (?, ?)");
  }

  /** All piece vectors by id, or undefined unless exactly `count` are stored. */
  getPieces(count: number): Float32Array[] | undefined {
    const rows = this.#db.prepare("SELECT id, vector FROM static_pieces ORDER BY id").all() as Array<{
      id: number;
      vector: Buffer;
    }>;
    if (rows.length !== count || rows.some((r, i) => r.id !== i)) return undefined;
    return rows.map((r) => this.#decode(r.vector));
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
