import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, describe, it } from "node:test";
import { assertSameVector } from "../conformance.test-suite.ts";
import { loadUseLiteVocabulary } from "./piece-vocabulary.ts";
import { UseLiteTeacher } from "./use-lite-teacher.ts";

void describe("UseLiteTeacher and its vocabulary", () => {
  const teacher = new UseLiteTeacher();
  after(() => teacher.close());

  void it("tokenizes words as USE-lite's own tokenizer does", async () => {
    const vocab = await loadUseLiteVocabulary();
    assert.equal(vocab.size, 8000);
    // The package's tokenizer, built without the model (it only reads the vocabulary).
    const { EmbeddingsModel } = createRequire(import.meta.url)("@energetic-ai/embeddings") as {
      EmbeddingsModel: new (data: { vocabulary: Array<[string, number]>; model: null }) => {
        tokenizer: { encode(text: string): number[] };
      };
    };
    const reference = new EmbeddingsModel({
      vocabulary: vocab.pieces.map((p, i): [string, number] => [p, vocab.scores[i]!]),
      model: null,
    }).tokenizer;
    for (const word of ["the", "tokenizers", "don't", "subroutine", "1,000.5", "perlfaq", "ภาษา"]) {
      assert.deepEqual(vocab.tokenize(word), reference.encode(word), word);
    }
  });

  void it("embeds a one-piece word and that piece by id to the same unit vector", async () => {
    const vocab = await loadUseLiteVocabulary();
    const [word] = await teacher.embedWords(["the"]);
    const [piece] = await teacher.embedPieces(vocab.tokenize("the"));
    assert.equal(word?.length, 512);
    assertSameVector(piece, word, 1e-4, "the");
  });
});
