import { parse } from "node-html-parser";
const r = parse(`<html><head><title>T &amp; x</title><script>var a="<p>x</p>";</script></head><body><p>Hello&nbsp;&amp; <b>w</b>orld &#x263A; &eacute;</p><pre>  a\n   b</pre><template><p>tpl</p></template></body></html>`);
const walk = (n: any, d=0) => { console.log(" ".repeat(d), n.nodeType, n.rawTagName, JSON.stringify(n.nodeType===3? n.text : "")); for (const c of n.childNodes) walk(c, d+1); };
walk(r);
