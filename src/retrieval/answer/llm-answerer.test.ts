import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatMessage, ChatModel } from "../../models/ports.ts";
import type { RetrievedChunk } from "../retriever.ts";
import { LlmAnswerer } from "./llm-answerer.ts";

const hit = (docId: string, text: string): RetrievedChunk => ({
  rowid: 1,
  score: 1,
  chunk: { rowid: 1, chunkId: `${docId}#0`, docId, ordinal: 0, text, page: null, source: `${docId}.md`, title: docId },
});

/** A chat model that answers from the passages it was given, citing the one mentioning "resume". */
class GroundedModel implements ChatModel {
  readonly id = "test-chat";
  seen: ChatMessage[] = [];
  async complete(messages: readonly ChatMessage[]): Promise<string> {
    this.seen = [...messages];
    const user = messages.find((m) => m.role === "user")!.content;
    const n = /\[(\d+)\][^[]*resume/.exec(user)?.[1];
    return n ? `Use sluice jobs resume [${n}]. Unrelated claim [9].` : "The passages do not say.";
  }
}

describe("LlmAnswerer", () => {
  it("sends numbered passages and returns only the passages the model cites", async () => {
    const model = new GroundedModel();
    const answer = await new LlmAnswerer(model).answer("how do I resume?", [
      hit("cancel", "Cancel stops work."),
      hit("jobs", "Run sluice jobs resume <id>."),
    ]);
    assert.match(model.seen[1]!.content, /\[1\] \(cancel\)\nCancel stops work\.\n\n\[2\] \(jobs\)/);
    assert.match(model.seen[1]!.content, /Question: how do I resume\?$/);
    assert.equal(answer.text, "Use sluice jobs resume [2]. Unrelated claim [9].");
    assert.deepEqual(
      answer.citations.map((c) => [c.n, c.docId]),
      [[2, "jobs"]],
      "a marker with no passage behind it is not a citation",
    );
    assert.equal(answer.method, "test-chat");
  });

  it("does not call the model when nothing was retrieved", async () => {
    const model = new GroundedModel();
    const answer = await new LlmAnswerer(model).answer("anything", []);
    assert.deepEqual([answer.citations, model.seen], [[], []]);
  });
});
