"""The page a browser gets at `{PU_APP_PREFIX}/graphql`: a small form that runs an operation
with the caller's token and shows the answer. Self-contained (nothing from another host, which
rules out GraphiQL's CDN pages); the schema is in docs/graphql.md and introspection."""

from html import escape

EXAMPLE = "query Counts {\n  getBaseMetrics { userCount repoCount unitCount unitNodeCount }\n}\n"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Pepeunit GraphQL</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 1.5rem; max-width: 60rem; }}
 textarea, input {{ width: 100%; font-family: ui-monospace, monospace; font-size: .9rem; }}
 label {{ display: block; margin-top: .8rem; font-weight: 600; }}
 pre {{ background: #f4f4f4; padding: .8rem; overflow: auto; min-height: 4rem; }}
 button {{ margin-top: .8rem; padding: .4rem 1.2rem; }}
</style>
</head>
<body>
<h1>Pepeunit GraphQL</h1>
<p>POST operations to <code>{path}</code> with the token in <code>x-auth-token</code>
(or none, as the anonymous caller); subscriptions use WebSocket (<code>graphql-transport-ws</code>)
on the same path. The schema is Pepeunit 1.x's; the
<a href="{docs}">REST API docs</a> describe what each field does.</p>
<form id="run">
<label for="token">Token (x-auth-token, kept in this tab only)</label>
<input id="token" autocomplete="off">
<label for="query">Operation</label>
<textarea id="query" rows="10">{example}</textarea>
<label for="variables">Variables (JSON)</label>
<textarea id="variables" rows="3">{{}}</textarea>
<button type="submit">Run</button>
</form>
<h2>Answer</h2>
<pre id="answer" aria-live="polite"></pre>
<script>
const token = document.getElementById("token");
token.value = sessionStorage.getItem("pepeunit-token") || "";
document.getElementById("run").addEventListener("submit", async (event) => {{
  event.preventDefault();
  sessionStorage.setItem("pepeunit-token", token.value);
  const answer = document.getElementById("answer");
  let variables;
  try {{ variables = JSON.parse(document.getElementById("variables").value || "{{}}"); }}
  catch (error) {{ answer.textContent = "Variables: " + error.message; return; }}
  const response = await fetch(location.pathname, {{
    method: "POST",
    headers: {{"content-type": "application/json", "x-auth-token": token.value}},
    body: JSON.stringify({{query: document.getElementById("query").value, variables}}),
  }});
  answer.textContent = response.status + "\\n" + JSON.stringify(await response.json(), null, 2);
}});
</script>
</body>
</html>
"""


def explorer_page(path: str, docs_path: str) -> str:
    return _PAGE.format(path=escape(path), docs=escape(docs_path), example=escape(EXAMPLE))
