namespace SoftPrompt.Serving;

/// <summary>The page the server shows at /: pick a task, type an input, see the answer and label probabilities.</summary>
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
        <script>
        const $ = id => document.getElementById(id);
        let tasks = [];
        async function loadTasks() {
          tasks = await (await fetch('/api/tasks')).json();
          $('task').innerHTML = tasks.map(t => `<option value="${t.name}">${t.name} (${t.kind})</option>`).join('');
          await showNearest();
        }
        async function showNearest() {
          const name = $('task').value; if (!name) return;
          const rows = await (await fetch(`/api/adapters/${encodeURIComponent(name)}/nearest`)).json();
          $('nearest').innerHTML = '<table>' + rows.map(r => `<tr><td>P${r.vector}</td><td>` +
            r.tokens.map(t => `<code>${t.token.replace(/</g, '&lt;')}</code> ${t.cosine}`).join(' ') + '</td></tr>').join('') + '</table>';
        }
        $('task').onchange = showNearest;
        $('run').onclick = async () => {
          $('error').textContent = ''; $('answer').textContent = '…';
          const task = tasks.find(t => t.name === $('task').value);
          const url = task.kind === 'classification' ? '/api/classify' : '/api/generate';
          const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ task: task.name, text: $('text').value }) });
          const result = await response.json();
          if (!response.ok) { $('error').textContent = result.error; $('answer').textContent = ''; return; }
          $('answer').innerHTML = task.kind === 'classification'
            ? `<p>Answer: <b id="label">${result.label}</b></p><table>` + result.probabilities.map(p =>
                `<tr><td>${p.label}</td><td><span class="bar" style="width:${Math.round(p.probability * 300)}px"></span> ${(p.probability * 100).toFixed(1)}%</td></tr>`).join('') + '</table>'
            : `<p id="label">${result.text.replace(/</g, '&lt;')}</p>`;
        };
        // /?task=NAME&text=... fills the form and runs it: a link that shows an answer, and what the browser test opens.
        loadTasks().then(() => {
          const q = new URLSearchParams(location.search);
          if (q.get('task')) { $('task').value = q.get('task'); showNearest(); }
          if (q.get('text')) { $('text').value = q.get('text'); $('run').onclick(); }
        });
        </script>
        </body></html>
        """;
}
