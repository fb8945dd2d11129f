import { htmlToText } from "../src/stages/parse/formats/html-to-text.ts";
console.log(htmlToText("<title>Guide</title><h1>Intro</h1><p>Hello&nbsp;&amp; <b>welcome</b></p>"));
console.log(htmlToText(`<!doctype html><html><head><title> My   Page </title><style>p{}</style><script>if (a<b) document.write("</p>")</script></head>
<body><nav><ul><li>Home</li><li><a href="/">About</a></li></ul></nav>
<article><h1>Heading</h1><p>First   para
 spans lines, with <em>emphasis</em>and&nbsp;text.</p><div>div one</div><div>div two<br>after br</div>
<pre><code>function f() {
    return x &lt; 1;
}</code></pre>
<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table><noscript>nojs</noscript><template><p>tpl</p></template><p hidden>hid</p>
<!-- comment --> caf&eacute; &#x263A;</article></body></html>`));
