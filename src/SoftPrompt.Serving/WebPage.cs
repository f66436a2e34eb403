namespace SoftPrompt.Serving;

/// <summary>The page the server shows at /: pick a task, type an input, see the answer and label probabilities; the
/// adapter's prompt vectors as their nearest tokens, and the training curve its directory recorded.</summary>
public static class WebPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>softprompt</title>
        <style>
          body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; color: #222; }
          textarea { width: 100%; height: 7rem; font: inherit; } select, button { font: inherit; padding: .3rem .6rem; }
          .bar { background: #4a7; height: 1rem; display: inline-block; vertical-align: middle; }
          table { border-collapse: collapse; margin-top: 1rem; } td { padding: .2rem .6rem; }
          #error { color: #b00; } code { background: #eee; padding: 0 .2rem; }
        </style></head>
        <body>
          <h1>softprompt</h1>
          <p>One frozen model, a few kilobytes of prompt per task.</p>
          <label>Task <select id="task"></select></label>
          <p><textarea id="text" placeholder="Type an input..."></textarea></p>
          <button id="run">Run</button>
          <p id="error"></p>
          <div id="answer"></div>
          <h2>Prompt vectors as their nearest tokens</h2>
          <div id="nearest"></div>
          <h2>Training curve</h2>
          <div id="curve"></div>
        <script>
        const $ = id => document.getElementById(id);
        // Every text the server sends (adapter names, labels, tokens, errors, curve keys) is data, never markup.
        const esc = v => String(v).replace(/[&<>"']/g,
          ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);
        const num = v => Number(v);
        let tasks = [];
        async function loadTasks() {
          tasks = await (await fetch('/api/tasks')).json();
          $('task').innerHTML = tasks.map(t =>
            `<option value="${esc(t.name)}">${esc(t.name)} (${esc(t.kind)})</option>`).join('');
          await showAdapter();
        }
        async function showAdapter() {
          const name = $('task').value; if (!name) return;
          const nearest = await fetch(`/api/adapters/${encodeURIComponent(name)}/nearest`);
          const rows = await nearest.json();
          $('nearest').innerHTML = !nearest.ok ? `<p>${esc(rows.error)}</p>`
            : '<table>' + rows.map(r => `<tr><td>P${num(r.vector)}</td><td>` +
                r.tokens.map(t => `<code>${esc(t.token)}</code> ${num(t.cosine)}`).join(' ') + '</td></tr>').join('') +
              '</table>';
          const curve = await fetch(`/api/adapters/${encodeURIComponent(name)}/curve`);
          $('curve').innerHTML = curve.ok ? drawCurve(await curve.json())
            : '<p>This adapter recorded no training curve.</p>';
        }
        // Training loss per step as a polyline (and each evaluation's first metric as dots, on its own 0–1 scale).
        function drawCurve(c) {
          const w = 600, h = 200, pad = 30, steps = c.steps, loss = c.loss.filter(x => x !== null);
          if (!steps.length || !loss.length) return '<p>The curve is empty.</p>';
          const x = s => pad + (w - 2 * pad) * (s - steps[0]) / Math.max(1, steps[steps.length - 1] - steps[0]);
          const lo = Math.min(...loss), hi = Math.max(...loss);
          const y = v => h - pad - (h - 2 * pad) * (v - lo) / Math.max(1e-9, hi - lo);
          const points = steps.map((s, i) => c.loss[i] === null ? ''
            : `${x(s).toFixed(1)},${y(c.loss[i]).toFixed(1)}`).join(' ');
          const dots = (c.evaluations || []).map(e => {
            const k = Object.keys(e).find(k => k !== 'step');
            return k === undefined ? ''
              : `<circle cx="${x(e.step).toFixed(1)}" cy="${(h - pad - (h - 2 * pad) * e[k]).toFixed(1)}"` +
                ` r="3" fill="#c63"><title>${esc(k)} ${esc(e[k])}</title></circle>`;
          }).join('');
          const metric = (c.evaluations || []).length ? Object.keys(c.evaluations[0]).find(k => k !== 'step') : null;
          return `<svg id="curve-svg" width="${w}" height="${h}" style="border:1px solid #ccc">` +
            `<polyline fill="none" stroke="#4878a8" stroke-width="1.5" points="${points}"/>${dots}` +
            `<text x="${pad}" y="15" font-size="12">` +
            `loss ${hi.toFixed(2)} → ${loss[loss.length - 1].toFixed(2)} over ${steps.length} steps` +
            (metric ? ` · dots: validation ${esc(metric)}` : '') + `</text></svg>`;
        }
        $('task').onchange = showAdapter;
        $('run').onclick = async () => {
          $('error').textContent = ''; $('answer').textContent = '…';
          const task = tasks.find(t => t.name === $('task').value);
          const url = task.kind === 'classification' ? '/api/classify' : '/api/generate';
          const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ task: task.name, text: $('text').value }) });
          const result = await response.json();
          if (!response.ok) { $('error').textContent = result.error; $('answer').textContent = ''; return; }
          $('answer').innerHTML = task.kind === 'classification'
            ? `<p>Answer: <b id="label">${esc(result.label)}</b></p><table>` + result.probabilities.map(p =>
                `<tr><td>${esc(p.label)}</td><td>` +
                `<span class="bar" style="width:${Math.round(num(p.probability) * 300)}px">` +
                `</span> ${(num(p.probability) * 100).toFixed(1)}%</td></tr>`).join('') + '</table>'
            : `<p id="label">${esc(result.text)}</p>`;
        };
        // /?task=NAME&text=... fills the form and runs it: a link that shows an answer, and what the browser test
        // opens.
        loadTasks().then(() => {
          const q = new URLSearchParams(location.search);
          if (q.get('task')) { $('task').value = q.get('task'); showAdapter(); }
          if (q.get('text')) { $('text').value = q.get('text'); $('run').onclick(); }
        });
        </script>
        </body></html>
        """;

    /// <summary>The page's Content-Security-Policy: only its own inline script (by hash) runs, nothing is loaded from
    /// elsewhere, so even text that slipped into the page as markup could not run a script.</summary>
    public static readonly string ContentSecurityPolicy = BuildPolicy();

    private static string BuildPolicy()
    {
        int start = Html.IndexOf("<script>", StringComparison.Ordinal) + "<script>".Length;
        string script = Html[start..Html.IndexOf("</script>", start, StringComparison.Ordinal)];
        string hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(script)));
        return $"default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; connect-src 'self'; " +
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }
}
