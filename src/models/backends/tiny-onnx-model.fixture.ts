/**
 * Test fixture: writes a tiny but real model folder in transformers.js layout (config.json,
 * tokenizer.json, tokenizer_config.json, onnx/model.onnx) without any download. The ONNX graph
 * is hand-encoded protobuf: `last_hidden_state = Gather(embeddings, input_ids)`, i.e. a BERT
 * with its encoder layers removed. It runs on the real onnxruntime-node through the real
 * transformers.js tokenizer and pipeline, and its outputs are exactly computable, so tests can
 * check pooling, padding, prefixes and normalisation against hand-computed vectors.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const TINY_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;
export const TINY_WORDS = [
  "the",
  "a",
  "cat",
  "cats",
  "sat",
  "was",
  "sitting",
  "on",
  "mat",
  "dog",
  "quarterly",
  "revenue",
  "grew",
  "by",
  "five",
  "percent",
  "query",
  "passage",
  ":",
  ".",
  "hello",
  "world",
  "how",
  "do",
  "i",
  "reset",
  "my",
  "password",
] as const;

export interface TinyOnnxModel {
  dir: string;
  hiddenSize: number;
  vocab: readonly string[];
  /** Row `id` of the embedding table: what the model outputs for token `id`. */
  row(id: number): Float32Array;
  /** Expected token ids for `text` (lowercase, whitespace/punctuation split, [CLS] … [SEP]). */
  ids(text: string): number[];
}

/**
 * Writes the folder and returns what tests need to compute expected vectors.
 *
 * @example
 * const model = await writeTinyOnnxModel(join(tmp, "tiny-bert"));
 * const embedder = new OnnxEmbedder({
 *   path: model.dir,
 *   pooling: "mean",
 *   queryPrefix: "",
 *   passagePrefix: "",
 *   batchSize: 8,
 * });
 */
export async function writeTinyOnnxModel(dir: string, hiddenSize = 16): Promise<TinyOnnxModel> {
  const vocab: string[] = [...TINY_SPECIAL, ...TINY_WORDS];
  const table = new Float32Array(vocab.length * hiddenSize);
  let seed = 12345;
  for (let i = 0; i < table.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    table[i] = (seed / 0xffffffff) * 2 - 1;
  }
  await mkdir(join(dir, "onnx"), { recursive: true });
  await writeFile(join(dir, "onnx", "model.onnx"), encodeModel(table, vocab.length, hiddenSize));
  await writeFile(
    join(dir, "config.json"),
    JSON.stringify({
      model_type: "bert",
      architectures: ["BertModel"],
      hidden_size: hiddenSize,
      vocab_size: vocab.length,
    }),
  );
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson(vocab)));
  await writeFile(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({
      tokenizer_class: "BertTokenizer",
      do_lower_case: true,
      model_max_length: 64,
      pad_token: "[PAD]",
      unk_token: "[UNK]",
      cls_token: "[CLS]",
      sep_token: "[SEP]",
      mask_token: "[MASK]",
    }),
  );
  const index = new Map(vocab.map((w, i) => [w, i]));
  return {
    dir,
    hiddenSize,
    vocab,
    row: (id) => table.slice(id * hiddenSize, (id + 1) * hiddenSize),
    ids: (text) => [2, ...(text.toLowerCase().match(/\w+|[^\w\s]/g) ?? []).map((w) => index.get(w) ?? 1), 3],
  };
}

function tokenizerJson(vocab: readonly string[]): unknown {
  const special = (id: number) => ({
    id,
    content: vocab[id],
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: TINY_SPECIAL.map((_, i) => special(i)),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [2], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [3], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((w, i) => [w, i])),
    },
  };
}

/** Minimal protobuf writer: just the wire types ONNX needs (varint and length-delimited). */
class Pb {
  private readonly out: number[] = [];
  int(field: number, value: number): this {
    this.varint(field << 3);
    this.varint(value);
    return this;
  }
  str(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }
  msg(field: number, value: Pb): this {
    return this.bytes(field, value.finish());
  }
  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    for (const b of value) this.out.push(b);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
  private varint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.out.push(v);
  }
}

const FLOAT = 1;
const INT64 = 7;

/** ValueInfoProto for a tensor whose dims are symbolic names or fixed sizes. */
function valueInfo(name: string, elemType: number, dims: ReadonlyArray<string | number>): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, typeof d === "number" ? new Pb().int(1, d) : new Pb().str(2, d));
  return new Pb().str(1, name).msg(2, new Pb().msg(1, new Pb().int(1, elemType).msg(2, shape)));
}

function encodeModel(table: Float32Array, vocabSize: number, hiddenSize: number): Uint8Array {
  const weights = new Pb()
    .int(1, vocabSize)
    .int(1, hiddenSize)
    .int(2, FLOAT)
    .str(8, "embeddings")
    .bytes(9, new Uint8Array(table.buffer, table.byteOffset, table.byteLength));
  const gather = new Pb()
    .str(1, "embeddings")
    .str(1, "input_ids")
    .str(2, "last_hidden_state")
    .str(3, "lookup")
    .str(4, "Gather");
  const graph = new Pb()
    .msg(1, gather)
    .str(2, "tiny-bert")
    .msg(5, weights)
    .msg(11, valueInfo("input_ids", INT64, ["batch", "sequence"]))
    .msg(11, valueInfo("attention_mask", INT64, ["batch", "sequence"]))
    .msg(12, valueInfo("last_hidden_state", FLOAT, ["batch", "sequence", hiddenSize]));
  return new Pb().int(1, 8).str(2, "sluice-test").msg(7, graph).msg(8, new Pb().str(1, "").int(2, 13)).finish();
}
