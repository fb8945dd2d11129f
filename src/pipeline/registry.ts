import { SluiceError } from "../contracts/errors.ts";
import type { AnyStageDefinition } from "./define-stage.ts";

/**
 * The allow-list of stage types a topology may name. Loading never imports code by name from
 * YAML: a type that is not registered here is an error that lists the ones that are.
 *
 * @example
 * const registry = new StageRegistry().register(chunkSentences);
 * registry.get("chunk.sentences");
 */
export class StageRegistry {
  readonly #stages = new Map<string, AnyStageDefinition>();

  register(...definitions: AnyStageDefinition[]): this {
    for (const definition of definitions) {
      if (this.#stages.has(definition.type)) throw new Error(`stage type "${definition.type}" is registered twice`);
      this.#stages.set(definition.type, definition);
    }
    return this;
  }

  get(type: string, node?: string): AnyStageDefinition {
    const definition = this.#stages.get(type);
    if (!definition) {
      const where = node ? `node "${node}": ` : "";
      throw new SluiceError(
        "UNKNOWN_STAGE",
        `${where}unknown stage type "${type}"; registered types: ${this.types().join(", ")}`,
        {
          details: { node, type, known: this.types() },
        },
      );
    }
    return definition;
  }

  types(): string[] {
    return [...this.#stages.keys()].sort();
  }

  list(): AnyStageDefinition[] {
    return this.types().map((t) => this.#stages.get(t)!);
  }
}
