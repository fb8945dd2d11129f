export { Worker, type WorkerOptions, type DrainOptions, type DocumentProgress } from "./worker.ts";
