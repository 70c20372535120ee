"""The report's one HTML template (Jinja2, autoescaped: values from files stay text) with
its stylesheet inline, so the HTML is one self-contained file and WeasyPrint lays out the
same page for the PDF (A4 landscape)."""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
@page { size: A4 landscape; margin: 12mm 14mm 14mm 14mm;
        @bottom-right { content: "page " counter(page) " of " counter(pages);
                        font: 8pt "Liberation Sans", Arial, sans-serif; color: #666; }
        @bottom-left { content: "{{ footer }}"; font: 8pt "Liberation Sans", Arial, sans-serif;
                       color: #666; } }
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; font-size: 10pt;
       color: #222; margin: 0; }
h1 { font-size: 17pt; margin: 0 0 2pt 0; }
h2 { font-size: 13pt; margin: 8pt 0 4pt 0; }
h3 { font-size: 11pt; margin: 6pt 0 2pt 0; }
.sub { color: #555; font-size: 9pt; margin: 0 0 6pt 0; }
.page { page-break-after: always; break-after: page; }
.page:last-child { page-break-after: auto; break-after: auto; }
table.figures { border-collapse: separate; border-spacing: 6pt 0; table-layout: fixed;
                margin: 2pt -6pt 4pt -6pt; width: calc(100% + 12pt); }
td.figure { border: 1px solid #ccc; border-radius: 4pt; padding: 3pt 8pt; }
.figure .label { font-size: 8.5pt; color: #555; }
.figure .value { font-size: 15pt; font-weight: bold; }
.figure .note { font-size: 8.5pt; color: #555; }
.chart svg { width: 100%; height: auto; }
.chart.heatmap svg { max-height: 92mm; }
.chart.curve svg { max-height: 82mm; }
ul.differences { font-size: 8.5pt; margin: 2pt 0; }
.chart.matrix svg { max-height: 160mm; }
.chart.trend svg { max-height: 120mm; }
.chart { margin: 2pt 0; text-align: center; }
.caption { font-size: 8pt; color: #555; margin: 0 0 4pt 0; }
table.list { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
table.list th, table.list td { border-bottom: 1px solid #ddd; padding: 2pt 4pt;
                               text-align: left; vertical-align: top; }
td.num, th.num { text-align: right !important; }
table.cards { border-collapse: collapse; table-layout: fixed; width: 100%; }
td.card { width: 50%; border: 1px solid #ccc; padding: 4pt 8pt; font-size: 9pt;
          vertical-align: top; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.card ul { margin: 2pt 0; padding-left: 12pt; }
.methods { font-size: 8.5pt; }
.methods .pre { white-space: pre-wrap; }
.warn { color: #8a4b00; }
</style>
</head>
<body>
<section class="page">
  <h1>{{ title }}</h1>
  <p class="sub">Filters: {{ filters }} · segment: {{ segment_label }} · {{ generated }}</p>
  <table class="figures"><tr>
    {% for f in figures %}
    <td class="figure"><div class="label">{{ f.label }}</div>
      <div class="value">{{ f.value }}</div><div class="note">{{ f.note }}</div></td>
    {% endfor %}
  </tr></table>
  {% if overall_kpis %}<p class="sub">Outcomes: {{ overall_kpis }}</p>{% endif %}
  <div class="chart heatmap">{{ heatmap }}</div>
  <p class="caption">{{ caption }}. Net experience = delighted share − disappointed share;
  cells with fewer than {{ min_customers }} customers are faded and marked “low n”.</p>
  {% if stale %}<p class="caption warn">The persona model is older than the data:
  customers added since it was fitted have no persona.</p>{% endif %}
  <h3>Fix first{% if outcome %} (outcome: {{ outcome }}){% endif %}</h3>
  {% if fix_first %}
  <table class="list">
    <tr><th>#</th><th>Stage</th><th>Quadrant</th><th class="num">Importance</th>
        <th class="num">Performance</th><th class="num">n</th></tr>
    {% for r in fix_first %}
    <tr><td>{{ r.rank }}</td><td>{{ r.stage }}</td><td>{{ r.quadrant }}</td>
        <td class="num">{{ r.importance }}</td><td class="num">{{ r.performance }}</td>
        <td class="num">{{ r.n }}</td></tr>
    {% endfor %}
  </table>
  <p class="caption">{{ fix_first_note }}</p>
  {% else %}<p>{{ no_fix_first }}</p>{% endif %}
</section>

<section class="page">
  <h2>How the experience evolves along the journey</h2>
  <div class="chart curve">{{ curve }}</div>
  <p class="caption">{{ caption }}. Mean customer stage score per {{ segment_label }}.</p>
  <h2>Significant differences: each {{ segment_label }} against everyone else</h2>
  {% if differences %}
  <ul class="differences">{% for d in differences %}<li>{{ d }}</li>{% endfor %}</ul>
  <p class="caption">Welch's t-test per stage; Benjamini-Hochberg selection at a 5% false
  discovery rate; intervals adjusted for the selection (Benjamini-Yekutieli).</p>
  {% else %}<p>{{ no_differences }}</p>{% endif %}
</section>

{% if matrix %}
<section class="page">
  <h2>Where to act first</h2>
  <div class="chart matrix">{{ matrix }}</div>
  <p class="caption">{{ matrix_caption }}</p>
</section>
{% endif %}

{% if trend %}
<section class="page">
  <h2>The trend</h2>
  <div class="chart trend">{{ trend }}</div>
  <p class="caption">{{ trend_caption }}</p>
  {% if trend_sentences %}
  <h3>Change from {{ trend_span }} (tested, corrected over the stages)</h3>
  <ul class="differences">{% for t in trend_sentences %}<li>{{ t }}</li>{% endfor %}</ul>
  {% endif %}
</section>
{% endif %}

{% if cards %}
<section class="page">
  <h2>The personas (model {{ model_id }})</h2>
  <table class="cards">
    {% for pair in cards|batch(2) %}
    <tr>{% for c in pair %}
      <td class="card">
      <h3>{{ c.name }}</h3>
      <p class="sub">Persona {{ c.persona }} · {{ c.size }} customers · {{ c.share }}</p>
      <b>What sets them apart</b>
      <ul>{% for d in c.distinguishing %}<li>{{ d }}</li>{% else %}<li>nothing stands out</li>
      {% endfor %}</ul>
      {% if c.relative %}<p><b>Compared with their own average:</b> {{ c.relative }}</p>{% endif %}
      {% if c.typical %}<p><b>Typical:</b> {{ c.typical|join("; ") }}</p>{% endif %}
      {% if c.sparse %}<p><b>Known for too few to call typical:</b> {{ c.sparse|join(", ") }}</p>
      {% endif %}
      {% if c.kpis %}<b>Outcomes</b>
      <ul>{% for k in c.kpis %}<li>{{ k }}</li>{% endfor %}</ul>{% endif %}
      </td>{% endfor %}
    </tr>
    {% endfor %}
  </table>
</section>
{% endif %}

<section class="page methods">
  <h2>Methods</h2>
  <table class="list">
    {% for k, v in facts %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
  </table>
  <h3>Experience scores</h3>
  <div class="pre">{{ score_definitions }}</div>
  <h3>Outcome KPIs</h3>
  <div class="pre">{{ outcome_definitions }}</div>
  {% if priority_method %}<h3>Priorities</h3><div class="pre">{{ priority_method }}</div>
  {% endif %}
</section>
</body>
</html>
"""
