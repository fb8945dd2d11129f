import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify } from "./classify.ts";

const phones = (text: string): number => classify({ text }).pii.phone;
const emails = (text: string): number => classify({ text }).pii.email;

describe("classify", () => {
  it("classifies an English support note with an e-mail and a phone number", () => {
    const text = [
      "Hi team, the quarterly export failed again last night.",
      "Please reply to a.b+c@example.co.uk or call me on +1 (415) 555-0132 before Friday.",
      "In 2024 we sold 1500000 units, so the backlog matters.",
    ].join("\n");
    assert.deepEqual(classify({ text, path: "inbox/note.md" }), {
      language: "en",
      sizeClass: "small",
      contentType: "text/markdown",
      pii: { email: 1, phone: 1 },
      tags: ["lang:en", "size:small", "type:text/markdown", "pii:email", "pii:phone"],
    });
  });

  it("detects Thai text and a Bangkok number in international format", () => {
    const text = "สำนักงานใหญ่ตั้งอยู่ที่กรุงเทพมหานคร ติดต่อฝ่ายบริการลูกค้าได้ที่ +66 2 123 4567 หรือ ๐๒-๑๒๓-๔๕๖๗ ในวันทำการ";
    const c = classify({ text });
    assert.equal(c.language, "th");
    assert.equal(c.contentType, "text/plain");
    assert.deepEqual(c.pii, { email: 0, phone: 2 });
    assert.deepEqual(c.tags, ["lang:th", "size:small", "type:text/plain", "pii:phone"]);
  });

  it("detects Arabic text with an e-mail address and a Saudi number", () => {
    const text =
      "مرحباً بكم في خدمة العملاء. للاستفسارات راسلونا على support@example.sa أو اتصلوا على +966 11 234 5678 خلال ساعات العمل.";
    const c = classify({ text, mediaType: "text/html; charset=UTF-8" });
    assert.equal(c.language, "ar");
    assert.equal(c.contentType, "text/html");
    assert.deepEqual(c.pii, { email: 1, phone: 1 });
    assert.deepEqual(c.tags, ["lang:ar", "size:small", "type:text/html", "pii:email", "pii:phone"]);
  });

  it("counts e-mail addresses, RFC 5322 lite", () => {
    assert.equal(emails("Contact a.b+c@example.co.uk, ops@sluice.dev and first_last@mail-server.example.org."), 3);
    assert.equal(emails("o'brien@example.ie and x!y#z@example.com"), 2);
    assert.equal(emails("Addresses: (jane.doe@example.com) <bob@example.net>"), 2);
    assert.equal(emails("not an address: user@localhost, @example.com, user@, a..b@example"), 0);
    assert.equal(emails("Version 1.2.3@beta and foo@bar"), 0);
    assert.equal(emails("no e-mail here"), 0);
  });

  it("counts phone numbers in international and national formats", () => {
    assert.equal(phones("Call +1 (415) 555-0132 now."), 1);
    assert.equal(phones("Office: +66 2 123 4567"), 1);
    assert.equal(phones("London office 020 7946 0958, Paris 01 23 45 67 89."), 2);
    assert.equal(phones("US desk (415) 555-0132 or 415-555-0132 or 1-800-555-0199"), 3);
    assert.equal(phones("E.164 form +442079460958 and +44 (0)20 7946 0958"), 2);
    assert.equal(phones("Bangkok 02-123-4567, mobile 081-234-5678, Berlin (030) 12345678"), 3);
  });

  it("ignores years, amounts, ids, ISBNs, dates and addresses that are not phone numbers", () => {
    assert.equal(phones("in 2024 we sold 1500000 units"), 0);
    assert.equal(phones("between 2019 2020 2021 and 2022"), 0);
    assert.equal(phones("ISBN 9780306406157 and 0306406152 and order 123456789012"), 0);
    assert.equal(phones("ISBN 978-0-306-40615-7 or 0-306-40615-2"), 0);
    assert.equal(phones("Population 1 500 000 000 and revenue 12.345.678.901"), 0);
    assert.equal(phones("Server 192.168.100.200 logged at 01.02.2024 10.30"), 0);
    assert.equal(phones("Totals (2024) 1500000 units"), 0);
    assert.equal(phones("order #A-020-7946-0958x and ticket ABC020 7946 0958"), 0);
    assert.equal(phones("card 4111 1111 1111 1111"), 0);
    assert.equal(phones("short 555-0132 and 12-34"), 0);
  });

  it("sizes documents by bytes, or by the UTF-8 length of the text", () => {
    assert.equal(classify({ bytes: 0 }).sizeClass, "small");
    assert.equal(classify({ bytes: 16 * 1024 - 1 }).sizeClass, "small");
    assert.equal(classify({ bytes: 16 * 1024 }).sizeClass, "medium");
    assert.equal(classify({ bytes: 1024 * 1024 - 1 }).sizeClass, "medium");
    assert.equal(classify({ bytes: 1024 * 1024 }).sizeClass, "large");
    // 6000 Thai characters are 18000 UTF-8 bytes: over 16 KiB although under 16384 characters.
    assert.equal(classify({ text: "ก".repeat(6000) }).sizeClass, "medium");
    assert.equal(classify({ text: "a".repeat(6000) }).sizeClass, "small");
    // A declared byte size wins over the text.
    assert.equal(classify({ text: "short", bytes: 2 * 1024 * 1024 }).sizeClass, "large");
  });

  it("types documents from the declared media type, then the path's extension", () => {
    assert.equal(classify({ path: "reports/Annual.PDF", bytes: 5_000_000 }).contentType, "application/pdf");
    assert.equal(classify({ path: "notes/readme.md", mediaType: "text/plain" }).contentType, "text/plain");
    assert.equal(classify({ path: "corpus.jsonl" }).contentType, "application/x-ndjson");
    assert.equal(classify({ path: "photo.heic" }).contentType, "application/octet-stream");
    assert.equal(classify({ text: "inline text" }).contentType, "text/plain");
    assert.equal(classify({}).contentType, "application/octet-stream");
  });

  it("reports und without text and tags nothing it did not find", () => {
    assert.deepEqual(classify({ path: "scan.pdf", bytes: 3 * 1024 * 1024 }), {
      language: "und",
      sizeClass: "large",
      contentType: "application/pdf",
      pii: { email: 0, phone: 0 },
      tags: ["lang:und", "size:large", "type:application/pdf"],
    });
    assert.equal(classify({ text: "12345 -- 678" }).language, "und");
  });

  it("scans large texts in linear time", () => {
    const hostile = `${"0 ".repeat(200_000)}${"a.".repeat(200_000)}@${"1-".repeat(200_000)}`;
    const started = performance.now();
    const c = classify({ text: hostile });
    assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
    assert.equal(c.sizeClass, "large");
  });
});
