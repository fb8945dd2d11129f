/**
 * Checks a local transformers.js model folder before anything heavy is loaded, so a bad path is a
 * clear `CONFIG_INVALID` naming the missing file rather than a deep loader stack trace.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SluiceError } from "../../contracts/errors.ts";

/** transformers.js file name under `onnx/` → the `dtype` that makes it load that file. Order = preference. */
const MODEL_FILES = [
  ["model.onnx", "fp32"],
  ["model_fp16.onnx", "fp16"],
  ["model_quantized.onnx", "q8"],
  ["model_int8.onnx", "int8"],
  ["model_uint8.onnx", "uint8"],
  ["model_q4.onnx", "q4"],
  ["model_q4f16.onnx", "q4f16"],
  ["model_bnb4.onnx", "bnb4"],
] as const;

export type OnnxDtype = (typeof MODEL_FILES)[number][1];

export interface OnnxModelFolder {
  /** Absolute folder path. */
  dir: string;
  /** `hidden_size` (or `d_model` / `dim`) from config.json: the embedding width. */
  hiddenSize: number;
  /** Which `onnx/*.onnx` variant will be loaded. */
  modelFile: string;
  dtype: OnnxDtype;
}

/**
 * Verifies `dir` holds config.json (with a hidden size), tokenizer.json, tokenizer_config.json
 * and one of the `onnx/model*.onnx` variants transformers.js knows; throws `CONFIG_INVALID`
 * naming the first thing missing.
 *
 * @example
 * const folder = await inspectOnnxModelFolder("./models/bge-small-en-v1.5");
 * folder.hiddenSize; // 384
 */
export async function inspectOnnxModelFolder(path: string): Promise<OnnxModelFolder> {
  const dir = resolve(path);
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw invalid(`onnx model folder ${dir} does not exist (embedder.path)`, dir);
  for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
    const ok = await stat(join(dir, file)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!ok) throw invalid(`onnx model folder ${dir} has no ${file}`, dir, file);
  }
  const onnxFiles = await readdir(join(dir, "onnx")).catch(() => [] as string[]);
  const found = MODEL_FILES.find(([file]) => onnxFiles.includes(file));
  if (found === undefined) {
    const others = onnxFiles.filter((f) => f.endsWith(".onnx"));
    const hint =
      others.length > 0
        ? ` (found ${others.join(", ")}; expected one of ${MODEL_FILES.map(([f]) => f).join(", ")})`
        : "";
    throw invalid(`onnx model folder ${dir} has no onnx/model.onnx${hint}`, dir, "onnx/model.onnx");
  }
  return {
    dir,
    hiddenSize: await readHiddenSize(join(dir, "config.json")),
    modelFile: `onnx/${found[0]}`,
    dtype: found[1],
  };
}

async function readHiddenSize(configPath: string): Promise<number> {
  let config: unknown;
  try {
    config = JSON.parse(await readFile(configPath, "utf8"));
  } catch (err) {
    throw invalid(`${configPath} is not valid JSON`, configPath, "config.json", err);
  }
  const c = (typeof config === "object" && config !== null ? config : {}) as Record<string, unknown>;
  const size = c.hidden_size ?? c.d_model ?? c.dim;
  if (typeof size !== "number" || !Number.isInteger(size) || size <= 0) {
    throw invalid(`${configPath} has no positive integer hidden_size`, configPath, "config.json");
  }
  return size;
}

function invalid(message: string, path: string, file?: string, cause?: unknown): SluiceError {
  return new SluiceError("CONFIG_INVALID", message, { details: { path, ...(file ? { file } : {}) }, cause });
}
