import type { XMLParser } from "fast-xml-parser";
import type { LiteratureMeta, SourceRecord } from "./literature-source.ts";

/**
 * One node of fast-xml-parser's ordered tree: `{ [tag]: children, ":@"?: attributes }` for an
 * element, `{ "#text": text }` for text. Order matters in JATS (mixed content, sections), so the
 * ordered form is the only one that keeps a paragraph's words in place.
 */
export type XmlNode = Record<string, unknown>;

let parser: Promise<XMLParser> | undefined;

/**
 * Parses XML into the ordered tree, loading fast-xml-parser on first use only: processes that
 * never read PMC never load it. Values stay strings (ids like `01` or `8435807` must not become
 * numbers).
 *
 * @example
 * const [root] = (await parseXml("<a x='1'>t</a>")).filter((n) => tagOf(n) === "a");
 */
export async function parseXml(xml: string): Promise<XmlNode[]> {
  parser ??= import("fast-xml-parser").then(
    ({ XMLParser }) =>
      new XMLParser({
        preserveOrder: true,
        ignoreAttributes: false,
        attributeNamePrefix: "",
        parseTagValue: false,
        parseAttributeValue: false,
        trimValues: false,
        processEntities: true,
        htmlEntities: true,
      }),
  );
  return (await parser).parse(xml) as XmlNode[];
}

/** The element's tag, `#text` for text, `?xml` and the like for declarations. */
export function tagOf(node: XmlNode): string {
  return Object.keys(node).find((key) => key !== ":@") ?? "";
}

/** The element's children (none for text). */
export function kids(node: XmlNode): XmlNode[] {
  const value = node[tagOf(node)];
  return Array.isArray(value) ? (value as XmlNode[]) : [];
}

export function attr(node: XmlNode, name: string): string | undefined {
  const attrs = node[":@"] as Record<string, string> | undefined;
  return attrs?.[name];
}

/** Direct children named `tag`. */
export function childrenOf(node: XmlNode, tag: string): XmlNode[] {
  return kids(node).filter((n) => tagOf(n) === tag);
}

/** The first element named `tag`, depth first, at any depth below `nodes`. */
export function find(nodes: XmlNode[], tag: string): XmlNode | undefined {
  for (const node of nodes) {
    if (tagOf(node) === tag) return node;
    const below = find(kids(node), tag);
    if (below) return below;
  }
  return undefined;
}

/** Every element named `tag` below `nodes` (not inside one another's matches). */
export function findAll(nodes: XmlNode[], tag: string, out: XmlNode[] = []): XmlNode[] {
  for (const node of nodes) {
    if (tagOf(node) === tag) out.push(node);
    else findAll(kids(node), tag, out);
  }
  return out;
}

// Floats, formulas and media: their text is not prose (table cells, MathML tokens, file names).
const NOT_PROSE = new Set([
  "fig",
  "fig-group",
  "table-wrap",
  "table-wrap-group",
  "table",
  "disp-formula",
  "inline-formula",
  "mml:math",
  "tex-math",
  "graphic",
  "inline-graphic",
  "media",
  "supplementary-material",
  "alternatives",
]);

/** The node's text with whitespace collapsed, leaving out what is not prose. */
export function textOf(node: XmlNode | undefined): string {
  if (!node) return "";
  const parts: string[] = [];
  const walk = (n: XmlNode) => {
    const tag = tagOf(n);
    if (tag === "#text") parts.push(String(n["#text"]));
    else if (!NOT_PROSE.has(tag)) kids(n).forEach(walk);
  };
  walk(node);
  return parts.join("").replace(/\s+/g, " ").trim();
}

// Block containers whose titles and paragraphs are the article's running text.
const BLOCKS = new Set([
  "abstract",
  "body",
  "sec",
  "list",
  "list-item",
  "boxed-text",
  "disp-quote",
  "statement",
  "def-list",
  "def-item",
  "def",
]);

/**
 * Section titles and paragraphs below `node`, in document order, as plain text. A section with no
 * paragraph of its own or below (only figures or supplementary files) leaves its title out too.
 */
function paragraphs(node: XmlNode): Array<{ text: string; heading: boolean }> {
  const out: Array<{ text: string; heading: boolean }> = [];
  for (const child of kids(node)) {
    const tag = tagOf(child);
    if (tag === "p" || tag === "title" || tag === "term") {
      const text = textOf(child);
      if (text) out.push({ text, heading: tag === "title" });
    } else if (BLOCKS.has(tag)) {
      const inner = paragraphs(child);
      if (inner.some((part) => !part.heading)) out.push(...inner);
    }
  }
  return out;
}

function isoDate(node: XmlNode | undefined): string | undefined {
  if (!node) return undefined;
  const iso = attr(node, "iso-8601-date");
  if (iso && /^\d{4}(-\d{2}(-\d{2})?)?/.test(iso)) return iso.slice(0, 10);
  const year = textOf(childrenOf(node, "year")[0]);
  if (!/^\d{4}$/.test(year)) return undefined;
  const pad = (tag: string) => {
    const value = textOf(childrenOf(node, tag)[0]);
    return /^\d{1,2}$/.test(value) ? value.padStart(2, "0") : undefined;
  };
  const month = pad("month");
  const day = month ? pad("day") : undefined;
  return [year, month, day].filter(Boolean).join("-");
}

/** The publication date: electronic first, then print, then the issue (collection), then any. */
function published(meta: XmlNode): string | undefined {
  const dates = childrenOf(meta, "pub-date");
  const kind = (d: XmlNode) => attr(d, "pub-type") ?? `${attr(d, "date-type")}/${attr(d, "publication-format")}`;
  const order = ["epub", "pub/electronic", "ppub", "pub/print", "pub/undefined", "collection"];
  const ranked = [...dates].sort((a, b) => (order.indexOf(kind(a)) + 1 || 99) - (order.indexOf(kind(b)) + 1 || 99));
  return ranked.map(isoDate).find(Boolean);
}

function authors(meta: XmlNode): string[] {
  const names: string[] = [];
  for (const group of childrenOf(meta, "contrib-group")) {
    for (const contrib of childrenOf(group, "contrib")) {
      if ((attr(contrib, "contrib-type") ?? "author") !== "author") continue;
      const name = childrenOf(contrib, "name")[0] ?? childrenOf(contrib, "string-name")[0];
      const full = name
        ? [textOf(childrenOf(name, "given-names")[0]), textOf(childrenOf(name, "surname")[0])]
            .filter(Boolean)
            .join(" ") || textOf(name)
        : textOf(childrenOf(contrib, "collab")[0]);
      if (full) names.push(full);
    }
  }
  return names;
}

/** The licence's URL when the article gives one (short), else its statement, clipped. */
function license(meta: XmlNode): string | undefined {
  const node = find(childrenOf(meta, "permissions"), "license");
  if (!node) return undefined;
  const href = attr(node, "xlink:href") ?? textOf(find(kids(node), "ali:license_ref"));
  if (href) return href;
  const text = textOf(childrenOf(node, "license-p")[0]);
  if (!text) return undefined;
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** When PMC last changed the article (`pub-history` event `pmc-last-change`). */
function updated(meta: XmlNode): string | undefined {
  const events = findAll(childrenOf(meta, "pub-history"), "event");
  const last = events.find((e) => attr(e, "event-type") === "pmc-last-change");
  return last ? isoDate(childrenOf(last, "date")[0]) : undefined;
}

/**
 * One JATS `<article>` (as efetch `db=pmc` returns it) as a record: the abstract's paragraphs,
 * then the body's section titles and paragraphs, one blank line apart; figures, tables and
 * formulas left out. `fallbackId` (digits) names it when the article carries no PMC id.
 *
 * @example
 * const [article] = findAll(await parseXml(xml), "article");
 * const record = jatsToRecord(article!, "3040717"); // { id: "PMC3040717", title: "Comprehensive Analysis…", … }
 */
export function jatsToRecord(article: XmlNode, fallbackId: string): SourceRecord {
  const front = childrenOf(article, "front")[0];
  const meta = (front && childrenOf(front, "article-meta")[0]) ?? { "article-meta": [] };
  const ids = new Map<string, string>();
  for (const node of childrenOf(meta, "article-id")) {
    const type = attr(node, "pub-id-type");
    if (type && !ids.has(type)) ids.set(type, textOf(node));
  }
  const pmc = (ids.get("pmcid") ?? ids.get("pmc") ?? ids.get("pmcaid") ?? fallbackId).replace(/^PMC/i, "");
  const abstracts = childrenOf(meta, "abstract");
  const abstract = abstracts.find((a) => attr(a, "abstract-type") === undefined) ?? abstracts[0];
  const text = [abstract, ...childrenOf(article, "body")].flatMap((node) => (node ? paragraphs(node) : []));
  const names = authors(meta);
  const entries: LiteratureMeta = {
    source: "pmc",
    pmcid: `PMC${pmc}`,
    pmid: ids.get("pmid"),
    doi: ids.get("doi")?.toLowerCase(),
    authors: names.length > 0 ? names : undefined,
    published: published(meta),
    updated: updated(meta),
    license: license(meta),
    url: `https://pmc.ncbi.nlm.nih.gov/articles/PMC${pmc}/`,
  };
  return {
    id: `PMC${pmc}`,
    title: textOf(find(childrenOf(meta, "title-group"), "article-title")),
    text: text.map((part) => part.text).join("\n\n"),
    meta: Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as LiteratureMeta,
  };
}
