import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assessTextLayer, needsOcr } from "./text-layer-quality.ts";

// Lines of the real text layer of lsh132.pdf (Thai TIS-620 bytes read as Latin-1), as pdfToPages extracts them.
const LSH132_TITLE = "º·á¹Ð¹Ó LATEX 2ε\n©ºÑºäÁè¤èÍÂÂèÍ\nËÃ×Í L ATEX 2εã¹ öò ¹Ò·Õ";
const LSH132_PAGE_5 =
  "¤Ó¹Ó\nL ATEX [1] à»¹ÃÐºº¨Ñ´àÃÕÂ§¾ÔÁ¾ì·ÕàËÁÒÐÊÁ·ÕÊØ´ ÊÓËÃÑºàÍ¡ÊÒÃ·Ò§ÇÔ·ÂÒÈÒÊμÃì áÅÐ¤³ÔμÈÒÊμÃìÁÕ\n" +
  "¤Ø³ÀÒ¾¡ÒÃàÃÕÂ§¾ÔÁ¾ì·ÕÍÍ¡ÁÒÊÙ§ ÃÐºº¡çÂÑ§àËÁÒÐÊÁÊÓËÃÑºàÍ¡ÊÒÃ·Ø¡»ÃÐàÀ·àªè¹¡Ñ¹μÑ§áμè ¨´ËÁÒÂ ä»";
const LSH132_INDEX = "´ÃÃª¹Õ\n\\!, óñ\n\", ñó\n$, ò÷\n', òù\n\\(, ò÷\n\\), ò÷\n\\,, òø, óñ\n-, ñó\n−, ñó\n\\-, ñò";
const LSH132_LAST_PAGE = "öò ´ÃÃª¹Õ";

const THAI =
  "LaTeX เป็นระบบจัดเรียงพิมพ์ที่เหมาะสมที่สุดสำหรับเอกสารทางวิทยาศาสตร์และคณิตศาสตร์ " +
  "มีคุณภาพการเรียงพิมพ์ที่ออกมาสูง ระบบก็ยังเหมาะสมสำหรับเอกสารทุกประเภท เช่น จดหมาย ไฟล์PDF ขนาด 5 μm";
const FRENCH =
  "L'été dernier, nous sommes allés à Orléans. « Très bien », dit-elle. Où est-il ? Ça va : " +
  "l'œuvre naïve de Noël, à côté du théâtre, était déjà prête. La col·lecció catalana.";
const GERMAN =
  "Die Größe der Straße ist überraschend. Ärger über Öl in der STRAßE bei Müller, schöne Äpfel. " +
  "¿Qué? ¡Hola! Nº 5, 1º, 2ª, Øystein Ærø, 20 °C, 5 µm.";

void describe("assessTextLayer", () => {
  void it("flags lsh132's broken Thai layer: title, body, index and a nine-character page", () => {
    for (const text of [LSH132_TITLE, LSH132_PAGE_5, LSH132_INDEX, LSH132_LAST_PAGE]) {
      const quality = assessTextLayer(text);
      assert.equal(quality.verdict, "broken", `${JSON.stringify(text.slice(0, 30))}: ${JSON.stringify(quality)}`);
    }
  });

  void it("flags Latin-1 letters inside runs of Thai (ฉบÑบ)", () => {
    const text = "ฉบÑบ นี้ เป็น เอกสาร ที่ ใช้ สำหรับ การ ทดสอบ ระบบ ค้นหา ข้อความ ภาษาไทย และ ภาษาอังกฤษ ด้วย กัน";
    assert.equal(assessTextLayer(text).garbledWords, 1);
    assert.equal(assessTextLayer(text).verdict, "broken");
  });

  void it("passes correct Thai with English words, French and German (accents, ß, l·l, º, ª, µ)", () => {
    for (const text of [THAI, FRENCH, GERMAN, `${FRENCH}\n${GERMAN}\n${THAI}`]) {
      const quality = assessTextLayer(text);
      assert.deepEqual(
        [quality.verdict, quality.garbledWords],
        ["ok", 0],
        `${text.slice(0, 30)}: ${JSON.stringify(quality)}`,
      );
    }
  });

  void it("finds no text on empty pages and pages holding only a page number", () => {
    for (const text of ["", "  \n ", "12", "- 12 -", "xiv", "(iii)\n\n"])
      assert.equal(assessTextLayer(text).verdict, "no-text");
    assert.equal(assessTextLayer("Index").verdict, "ok");
  });

  void it("flags replacement, private-use and control characters above 1%, not one stray", () => {
    assert.equal(assessTextLayer(`${"Plain words here. ".repeat(10)}\u001b`).verdict, "ok");
    assert.equal(assessTextLayer("Pl\uFFFDin w\uFFFDrds \uE001here.").verdict, "broken");
    assert.equal(assessTextLayer("ภาษาไทย\uF70Aที่\uF70Bใช้").verdict, "broken");
    assert.equal(assessTextLayer("tab\there\r\nand lines\n").verdict, "ok");
  });

  void it("needsOcr is true for no-text and broken pages", () => {
    assert.equal(needsOcr(""), true);
    assert.equal(needsOcr(LSH132_PAGE_5), true);
    assert.equal(needsOcr(FRENCH), false);
  });
});
