// The digit pad (ui/digit_pad.py): white strokes on a black square, sent to Python as a PNG the
// moment the pointer is lifted (no debounce: the answer should follow the stroke at once).
// Streamlit calls this function on every render; the canvas is built once and kept.
export default function ({ parentElement, data, setStateValue }) {
  const size = data.size, width = data.stroke;
  let pad = parentElement.querySelector(".digit-pad");
  if (!pad) {
    pad = document.createElement("div");
    pad.className = "digit-pad";
    pad.innerHTML = '<canvas></canvas><div class="digit-pad-tools">' +
      '<button type="button" data-act="undo"></button><button type="button" data-act="clear"></button></div>';
    parentElement.appendChild(pad);
    const canvas = pad.querySelector("canvas");
    canvas.width = size; canvas.height = size;
    canvas.style.width = size + "px"; canvas.style.height = size + "px";
    const ctx = canvas.getContext("2d");
    const strokes = [];
    let current = null;
    const paint = () => {
      ctx.fillStyle = "#000"; ctx.fillRect(0, 0, size, size);
      ctx.strokeStyle = "#fff"; ctx.fillStyle = "#fff";
      ctx.lineWidth = width; ctx.lineCap = "round"; ctx.lineJoin = "round";
      for (const s of strokes.concat(current ? [current] : [])) {
        if (s.length === 1) {                       // a tap leaves a dot
          ctx.beginPath(); ctx.arc(s[0][0], s[0][1], width / 2, 0, 2 * Math.PI); ctx.fill();
          continue;
        }
        ctx.beginPath(); ctx.moveTo(s[0][0], s[0][1]);
        for (const [x, y] of s.slice(1)) { ctx.lineTo(x, y); }
        ctx.stroke();
      }
    };
    const send = () => setStateValue("png", strokes.length ? canvas.toDataURL("image/png") : null);
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * size / r.width, (e.clientY - r.top) * size / r.height];
    };
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      current = [at(e)];
      paint();
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!current) { return; }
      current.push(at(e));
      paint();
    });
    const end = () => {
      if (!current) { return; }
      strokes.push(current); current = null;
      paint(); send();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    pad.querySelector('[data-act="undo"]').addEventListener("click", () => {
      if (strokes.length) { strokes.pop(); paint(); send(); }
    });
    pad.querySelector('[data-act="clear"]').addEventListener("click", () => {
      if (strokes.length) { strokes.length = 0; paint(); send(); }
    });
    paint();
  }
  const canvas = pad.querySelector("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", data.label);
  for (const button of pad.querySelectorAll("button")) {
    const name = data[button.dataset.act];
    button.textContent = name.icon + " " + name.text;
    button.title = name.text;
  }
}
