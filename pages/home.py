"""Home: what a large model is, pre-training vs fine-tuning, the cross-domain map, where to go next."""
import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.paths import models_dir
from bigmodel_core.serve.runtime import CPU, choose_providers
from ui import home_map
from ui.i18n import current, t
from ui.layout import PAGE_ICONS, nav_card, page_header, tr


def domain_page(domain_id: str) -> str:
    return f"pages/domain_{domain_id.replace('-', '_')}.py"


def _on_map_select() -> None:
    """A click on a bubble of the map: remember the domain, the script then switches to its page."""
    domain_id = home_map.clicked_domain(st.session_state.get("home_map"))
    if domain_id:
        st.session_state["home_goto"] = domain_id


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
map_rows = domains.cross_domain_map()
built = frozenset(m for r in map_rows for m in r["models"] if (models_dir() / m / "model.onnx").exists())

left, right = st.columns([3, 1], gap="medium")
with left:
    home_map.show(current(), built, key="home_map", on_select=_on_map_select)
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
