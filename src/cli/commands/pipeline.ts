import type { Command } from "commander";
import { withSluice } from "../context.ts";
import { printJson, println } from "../output.ts";

export function registerPipeline(program: Command): void {
  const pipeline = program.command("pipeline").description("pipeline topologies");
  pipeline
    .command("validate")
    .description("check a pipeline YAML against the stage registry: types, config, ports, policies, cycles")
    .argument("<file>", "pipeline YAML file")
    .action(async (file: string, _opts: unknown, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const compiled = await sluice.validatePipeline(file);
        const nodes = compiled.nodes.map((n) => ({
          name: n.name,
          type: n.definition.type,
          policy: n.policyName,
          dependsOn: n.dependsOn,
        }));
        const { kind } = compiled;
        if (g.json) return printJson({ valid: true, name: compiled.topology.name, kind, nodes });
        println(`${file}: valid ${kind} pipeline "${compiled.topology.name}" with ${nodes.length} nodes`);
        for (const n of nodes)
          println(
            `  ${n.name} (${n.type})${n.policy ? ` policy=${n.policy}` : ""}${n.dependsOn.length ? ` ← ${n.dependsOn.join(", ")}` : ""}`,
          );
      });
    });
}
