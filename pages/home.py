"""Home: what a large model is, pre-training vs fine-tuning, the cross-domain map, where to go next."""
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.paths import models_dir
from bigmodel_core.serve.runtime import CPU, choose_providers
from ui.i18n import current, t
from ui.layout import PAGE_ICONS, PALETTE, chart, nav_card, page_header, style, tr


def domain_page(domain_id: str) -> str:
    return f"pages/domain_{domain_id.replace('-', '_')}.py"


def _on_map_select() -> None:
    """A click on a bubble of the map: remember the domain, the script then switches to its page."""
    state = st.session_state.get("home_map")
    points = (state or {}).get("selection", {}).get("points", []) if state else []
    for p in points:
        data = p.get("customdata")
        domain_id = data[0] if isinstance(data, (list, tuple)) else data
        if domain_id in domains.DOMAINS:
            st.session_state["home_goto"] = domain_id
            return


goto = st.session_state.pop("home_goto", None)
if goto:
    st.switch_page(domain_page(goto))

page_header("🧠", t("app.title"), t("app.tagline"))

# --- start here: a 3-minute tour in four clicks, each landing pre-set on the chosen domain ---------
with st.container(border=True, key="home_tour"):
    head, pick = st.columns([3, 1], vertical_alignment="bottom")
    with head:
        st.markdown(f"### ▶️ {t('home.start_title')}")
        st.caption(t("home.start_caption"))
    tour_domain = pick.selectbox(t("home.start_domain"), list(domains.DOMAINS), key="home_tour_domain",
                                 format_func={d.id: f"{d.icon} {t(f'domain.{d.id}.title')}"
                                              for d in domains.DOMAINS.values()}.get,
                                 persist_state="session")         # still chosen when the tour comes back home
    tour = domains.tour(tour_domain, models_dir())
    dataset = tr(f"domain.ds.{tour['dataset']}.title", tour["dataset"])
    steps = [
        (domains.DOMAINS[tour_domain].icon, t("home.step1_title"), t("home.step1_body"),
         t(f"domain.{tour_domain}.title")),
        (PAGE_ICONS["predict"], t("home.step2_title"), t("home.step2_body"), t("home.step2_button")),
        (PAGE_ICONS["train"], t("home.step3_title"), t("home.step3_body", dataset=dataset, start=t("train.start")),
         t("home.step3_button")),
        (PAGE_ICONS["benchmark"], t("home.step4_title"), t("home.step4_body", run=t("bench.run")),
         t("home.step4_button")),
    ]
    for n, (col, (_, title, body, _)) in enumerate(zip(st.columns(4), steps, strict=True), start=1):
        col.markdown(f"**{n} · {title}**")
        col.caption(body)
    clicked = None
    # one row: aligned
    for n, (col, (icon, _, _, label)) in enumerate(zip(st.columns(4), steps, strict=True), start=1):
        kind = "primary" if n == 1 else "secondary"
        if col.button(label, icon=icon, key=f"home_tour_{n}", type=kind, width="stretch"):
            clicked = n
    if clicked == 1:
        st.switch_page(domain_page(tour_domain))
    elif clicked == 2:
        st.switch_page("pages/predict.py", query_params={"model": tour["try_model"]})
    elif clicked == 3:
        st.session_state["train_preset"] = tour["train_preset"]
        st.switch_page("pages/train.py")
    elif clicked == 4:
        st.switch_page("pages/benchmark.py", query_params={"model": tour["bench_model"]})

# --- what a large model is, pre-training, fine-tuning ---------------------------------------
cols = st.columns(3)
for col, part, icon in zip(cols, ("what", "pretrain", "finetune"), ("🧠", "📚", "🎯"), strict=True):
    with col, st.container(border=True, height="stretch"):
        st.markdown(f"#### {icon} {t(f'home.{part}_title')}")
        st.markdown("\n".join(f"- {line}" for line in t(f"home.{part}_points")))

# --- the cross-domain map ------------------------------------------------------------------
st.subheader(f"🗺️ {t('home.map_title')}")
st.caption(t("home.map_caption"))
@st.cache_resource(show_spinner=False, max_entries=8)
def _map_figure(lang: str, built: frozenset) -> go.Figure:
    """The cross-domain map, built once per language and set of built models (plotly's checks are slow)."""
    rows = domains.cross_domain_map()
    kinds = [k for k in domains.KINDS if any(r["kind"] == k for r in rows)]
    order = list(domains.DOMAINS)
    x_of = {k: t(f"common.kind.{k}").replace(" ", "<br>", 1) for k in kinds}
    y_of = {d: f"{domains.DOMAINS[d].icon} {t(f'domain.{d}.title')}" for d in order}
    fig = go.Figure()
    for i, kind in enumerate(kinds):
        part = [r for r in rows if r["kind"] == kind]
        hover = []
        for r in part:
            models = "<br>".join(f"{'✅' if m in built else '⏳'} {m}" for m in r["models"])
            hover.append(f"<b>{y_of[r['domain']]}</b><br>{t(f'common.kind.{kind}')}<br>"
                         f"{t('home.map_data')}: {', '.join(r['datasets'])}<br>{models}")
        fig.add_trace(go.Scatter(
            x=[x_of[kind]] * len(part), y=[y_of[r["domain"]] for r in part], mode="markers+text",
            name=t(f"common.kind.{kind}"), customdata=[[r["domain"]] for r in part],
            text=[str(len(r["models"])) for r in part], textfont=dict(color="white", size=13),
            hovertext=hover, hoverinfo="text",
            marker=dict(size=[26 + 12 * len(r["models"]) for r in part], color=PALETTE[i % len(PALETTE)],
                        opacity=[0.95 if any(m in built for m in r["models"]) else 0.45 for r in part],
                        line=dict(width=2, color="white")),
        ))
    fig.update_yaxes(categoryorder="array", categoryarray=[y_of[d] for d in reversed(order)], showgrid=True)
    fig.update_xaxes(categoryorder="array", categoryarray=[x_of[k] for k in kinds], side="top",
                     showgrid=True, tickangle=0, tickfont=dict(size=13))
    style(fig, None, "", "", height=430, showlegend=False)
    fig.update_layout(margin=dict(l=10, r=10, t=30, b=10), dragmode=False)
    return fig


map_rows = domains.cross_domain_map()
fig = _map_figure(current(), frozenset(m for r in map_rows for m in r["models"]
                                       if (models_dir() / m / "model.onnx").exists()))

left, right = st.columns([3, 1], gap="medium")
with left:
    chart(fig, key="home_map", on_select=_on_map_select, selection_mode="points")
    st.caption(t("home.map_legend"))
with right:
    st.markdown(f"##### {t('home.domains_title')}")
    for d in domains.DOMAINS.values():
        st.page_link(domain_page(d.id), label=t(f"domain.{d.id}.title"), icon=d.icon)

# --- where next ----------------------------------------------------------------------------
st.subheader(f"🧭 {t('home.next_title')}")
cols = st.columns(3)
for col, page in zip(cols, ("train", "predict", "models"), strict=True):
    with col:
        nav_card(PAGE_ICONS[page], t(f"home.card_{page}_title"), t(f"home.card_{page}_body"), f"pages/{page}.py",
                 t(f"home.card_{page}_link"))

# --- execution provider --------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _provider() -> str:
    """The provider predictions use here: CUDA only where ONNX Runtime really starts a CUDA session."""
    return choose_providers()[0]


provider = _provider()
with st.container(border=True):
    st.markdown(f"##### ⚡ {t('home.provider_title')}")
    st.markdown(t("provider.using", provider=f"`{provider}`"))
    st.caption(t("home.provider_cpu") if provider == CPU else t("home.provider_gpu"))
