// The local chat page: plays the person's Telegram app against the local Bot API server (plain fetch/JSON).
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

function loadUser() {
  const saved = JSON.parse(localStorage.getItem("localChatUser") || "null");
  const user = saved || {
    id: 100000 + Math.floor(Math.random() * 900000),
    first_name: "Persona",
    language_code: (navigator.language || "es").slice(0, 2),
  };
  if (params.get("user")) user.id = parseInt(params.get("user"), 10);
  if (params.get("name")) user.first_name = params.get("name");
  if (params.get("lang")) user.language_code = params.get("lang");
  localStorage.setItem("localChatUser", JSON.stringify(user));
  return user;
}

let user = loadUser();
let seq = 0;
let liveMessageId = null;
const rendered = new Map();

function showWho() {
  $("who").textContent = `${user.first_name} · ${user.id} · ${user.language_code}`;
}

async function post(path, body) {
  const answer = await fetch(`/chat/api/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user, ...body }),
  });
  const data = await answer.json();
  if (!answer.ok) throw new Error(data.description || `HTTP ${answer.status}`);
  return data;
}

function toast(textValue, alertToo) {
  if (!textValue) return;
  if (alertToo) { alert(textValue); return; }
  const box = $("toast");
  box.textContent = textValue;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

// Telegram HTML (b, i, u, s, code, pre, a): rebuilt node by node, so nothing else from a message can run.
const ALLOWED = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "CODE", "PRE", "A",
  "BLOCKQUOTE"]);
function richText(source) {
  const parsed = new DOMParser().parseFromString(`<body>${source}</body>`, "text/html");
  const out = document.createDocumentFragment();
  const copy = (node, into) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        into.appendChild(document.createTextNode(child.textContent));
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        if (ALLOWED.has(child.tagName)) {
          const element = document.createElement(child.tagName.toLowerCase());
          if (child.tagName === "A") {
            const href = child.getAttribute("href") || "";
            if (/^https?:\/\//i.test(href)) element.href = href;
            element.target = "_blank";
            element.rel = "noopener noreferrer";
          }
          copy(child, element);
          into.appendChild(element);
        } else {
          copy(child, into);
        }
      }
    }
  };
  copy(parsed.body, out);
  return out;
}

function textNode(value, parseMode) {
  const span = document.createElement("span");
  if ((parseMode || "").toUpperCase() === "HTML") span.appendChild(richText(value));
  else span.textContent = value;
  return span;
}

function fileUrl(fileId) { return `/chat/api/file/${encodeURIComponent(fileId)}`; }

function sizeLabel(bytes) {
  if (!bytes) return "";
  return bytes > 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function renderBody(message, bubble) {
  if (message.text) bubble.appendChild(textNode(message.text, message.parse_mode));
  if (message.photo) {
    const img = document.createElement("img");
    img.src = fileUrl(message.photo[message.photo.length - 1].file_id);
    img.alt = "foto / photo";
    bubble.appendChild(img);
  }
  if (message.video_note) {
    const video = document.createElement("video");
    video.className = "round";
    video.src = fileUrl(message.video_note.file_id);
    video.controls = true;
    bubble.appendChild(video);
  }
  if (message.document) {
    const link = document.createElement("a");
    link.className = "file";
    link.href = fileUrl(message.document.file_id);
    link.download = message.document.file_name || "document";
    link.textContent = `📄 ${message.document.file_name || "document"} (${sizeLabel(message.document.file_size)})`;
    bubble.appendChild(link);
  }
  if (message.location) {
    const loc = message.location;
    const live = loc.live_period ? ` · 📡 live ${Math.round(loc.live_period / 60)} min` : "";
    const acc = loc.horizontal_accuracy ? ` ±${Math.round(loc.horizontal_accuracy)} m` : "";
    bubble.appendChild(document.createTextNode(`📍 ${loc.latitude.toFixed(5)}, ${loc.longitude.toFixed(5)}${acc}${live}`));
  }
  if (message.contact) {
    bubble.appendChild(document.createTextNode(`👤 ${message.contact.first_name}: ${message.contact.phone_number}`));
  }
  if (message.caption) {
    const caption = textNode(message.caption, message.parse_mode);
    caption.style.display = "block";
    bubble.appendChild(caption);
  }
}

function inlineKeyboard(message) {
  const markup = message.reply_markup;
  if (!markup || !markup.inline_keyboard || !markup.inline_keyboard.length) return null;
  const box = document.createElement("div");
  box.className = "inline-keyboard";
  for (const row of markup.inline_keyboard) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      if (button.url) {
        const link = document.createElement("a");
        link.href = button.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.textContent = button.text;
        line.appendChild(link);
      } else {
        const press = document.createElement("button");
        press.type = "button";
        press.textContent = button.text;
        press.addEventListener("click", () => {
          post("callback", { message_id: message.message_id, data: button.callback_data })
            .catch((error) => toast(error.message));
        });
        line.appendChild(press);
      }
    }
    box.appendChild(line);
  }
  return box;
}

function replyKeyboard(markup) {
  const area = $("reply-keyboard");
  if (!markup) return;
  if (markup.remove_keyboard) { area.hidden = true; area.innerHTML = ""; return; }
  if (!markup.keyboard) return;
  area.innerHTML = "";
  for (const row of markup.keyboard) {
    const line = document.createElement("div");
    line.className = "row";
    for (const raw of row) {
      const button = typeof raw === "string" ? { text: raw } : raw;
      const press = document.createElement("button");
      press.type = "button";
      press.textContent = button.request_location ? `📍 ${button.text}` : button.request_contact ? `📱 ${button.text}` : button.text;
      press.addEventListener("click", () => {
        if (button.request_location) { openPanel("location-panel"); }
        else if (button.request_contact) {
          const phone = prompt("Número de teléfono / Phone number", "+51 987 654 321");
          if (phone) post("contact", { phone_number: phone }).catch((error) => toast(error.message));
        } else { post("message", { text: button.text }).catch((error) => toast(error.message)); }
        if (markup.one_time_keyboard) area.hidden = true;
      });
      line.appendChild(press);
    }
    area.appendChild(line);
  }
  $("text").placeholder = markup.input_field_placeholder || $("text").placeholder;
  area.hidden = false;
}

function upsert(message) {
  const list = $("messages");
  const bubble = document.createElement("div");
  bubble.className = `msg ${message.outgoing ? "out" : "in"}`;
  bubble.dataset.messageId = message.message_id;
  renderBody(message, bubble);
  const keyboard = inlineKeyboard(message);
  if (keyboard) bubble.appendChild(keyboard);
  const meta = document.createElement("span");
  meta.className = "meta";
  const when = new Date((message.edit_date || message.date) * 1000);
  meta.textContent = `${message.edit_date ? "editado · " : ""}${when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
  bubble.appendChild(meta);
  const old = rendered.get(message.message_id);
  if (old) old.replaceWith(bubble); else list.appendChild(bubble);
  rendered.set(message.message_id, bubble);
  if (!message.outgoing && message.reply_markup && !message.reply_markup.inline_keyboard) replyKeyboard(message.reply_markup);
  if (!old) list.scrollTop = list.scrollHeight;
}

function apply(event) {
  if (event.type === "message") upsert(event.message);
  else if (event.type === "callback_answer") toast(event.text, event.show_alert);
  else if (event.type === "deleted") { const gone = rendered.get(event.message_id); if (gone) gone.remove(); }
  else if (event.type === "chat_action") {
    $("typing").hidden = false;
    clearTimeout(apply.typing);
    apply.typing = setTimeout(() => { $("typing").hidden = true; }, 3000);
  }
  if (event.type === "message" && !event.message.outgoing) $("typing").hidden = true;
}

async function poll() {
  for (;;) {
    try {
      const answer = await fetch(`/chat/api/events?chat_id=${user.id}&after=${seq}&timeout=25`);
      const data = await answer.json();
      for (const event of data.events) apply(event);
      seq = Math.max(seq, data.seq);
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}

function openPanel(id) {
  for (const panel of ["location-panel", "attach-panel"]) $(panel).hidden = panel !== id ? true : !$(panel).hidden;
}

async function upload(kind, file) {
  const form = new FormData();
  form.append("user", JSON.stringify(user));
  form.append("kind", kind);
  if (kind === "video_note") {
    const duration = await new Promise((resolve) => {
      const probe = document.createElement("video");
      probe.preload = "metadata";
      probe.onloadedmetadata = () => resolve(Math.max(1, Math.round(probe.duration || 1)));
      probe.onerror = () => resolve(5);
      probe.src = URL.createObjectURL(file);
    });
    form.append("duration", String(duration));
  }
  form.append("file", file, file.name || kind);
  const answer = await fetch("/chat/api/upload", { method: "POST", body: form });
  if (!answer.ok) toast((await answer.json()).description || `HTTP ${answer.status}`);
}

function locationBody() {
  return {
    latitude: parseFloat($("loc-lat").value),
    longitude: parseFloat($("loc-lon").value),
    horizontal_accuracy: $("loc-acc").value === "" ? undefined : parseFloat($("loc-acc").value),
  };
}

function wire() {
  showWho();
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("text").value;
    if (!value.trim()) return;
    $("text").value = "";
    post("message", { text: value }).catch((error) => toast(error.message));
  });
  $("attach").addEventListener("click", () => openPanel("attach-panel"));
  for (const button of document.querySelectorAll("[data-attach]")) {
    button.addEventListener("click", () => {
      const kind = button.dataset.attach;
      if (kind === "location") openPanel("location-panel");
      else $(`file-${kind}`).click();
    });
  }
  for (const kind of ["photo", "video_note", "document"]) {
    $(`file-${kind}`).addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (file) upload(kind, file).catch((error) => toast(error.message));
      event.target.value = "";
      $("attach-panel").hidden = true;
    });
  }
  $("loc-preset").addEventListener("change", () => {
    if (!$("loc-preset").value) return;
    const [lat, lon] = $("loc-preset").value.split(",");
    $("loc-lat").value = lat;
    $("loc-lon").value = lon;
  });
  $("loc-device").addEventListener("click", () => {
    if (!navigator.geolocation) { toast("Geolocation is not available"); return; }
    navigator.geolocation.getCurrentPosition((position) => {
      $("loc-lat").value = position.coords.latitude.toFixed(6);
      $("loc-lon").value = position.coords.longitude.toFixed(6);
      $("loc-acc").value = Math.round(position.coords.accuracy);
    }, (error) => toast(error.message));
  });
  $("loc-send").addEventListener("click", async () => {
    const body = locationBody();
    if ($("loc-live").checked) body.live_period = parseInt($("loc-period").value, 10);
    try {
      const sent = await post("location", body);
      if (body.live_period) { liveMessageId = sent.message_id; $("live-row").hidden = false; }
      else $("location-panel").hidden = true;
    } catch (error) { toast(error.message); }
  });
  $("loc-update").addEventListener("click", () => {
    if (liveMessageId === null) return;
    post("location/live", { message_id: liveMessageId, ...locationBody() }).catch((error) => toast(error.message));
  });
  $("loc-stop").addEventListener("click", () => { liveMessageId = null; $("live-row").hidden = true; });
  $("commands").addEventListener("click", async () => {
    const menu = $("commands-menu");
    if (!menu.hidden) { menu.hidden = true; return; }
    const data = await (await fetch(`/chat/api/commands?lang=${encodeURIComponent(user.language_code)}`)).json();
    menu.innerHTML = "";
    for (const command of data.commands) {
      const item = document.createElement("button");
      item.type = "button";
      item.innerHTML = `<b>/${command.command}</b> — `;
      item.appendChild(document.createTextNode(command.description));
      item.addEventListener("click", () => {
        menu.hidden = true;
        post("message", { text: `/${command.command}` }).catch((error) => toast(error.message));
      });
      menu.appendChild(item);
    }
    if (!data.commands.length) menu.textContent = "—";
    menu.hidden = false;
  });
  $("who").addEventListener("click", () => {
    const id = prompt("Telegram user id", String(user.id));
    if (!id) return;
    const name = prompt("First name / Nombre", user.first_name) || user.first_name;
    const lang = prompt("language_code (es / en)", user.language_code) || user.language_code;
    user = { id: parseInt(id, 10), first_name: name, language_code: lang };
    localStorage.setItem("localChatUser", JSON.stringify(user));
    location.search = `?user=${user.id}`;
  });
  fetch("/chat/api/bot").then((answer) => answer.json()).then((data) => {
    $("bot-name").textContent = data.bot.first_name;
    document.title = `${data.bot.first_name} · chat local`;
  });
  poll();
}

wire();
