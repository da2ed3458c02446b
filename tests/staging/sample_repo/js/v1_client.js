// Legacy V1 integration in the browser / Node (sample for the scan tests).
const axios = require("axios");

const BASE = "https://api.scriptix.io";
const SESSIONS = `${BASE}/api/v3/speech-to-text/session`;
const TOKEN = process.env.SCRIPTIX_TOKEN;

async function createFromUrl(mediaUrl) {
  const response = await axios.post(SESSIONS, {
    language: "en",
    media_source: mediaUrl,
  }, { headers: { "x-zoom-s2t-key": TOKEN } });
  return response.data.result.session_id;
}

async function uploadMedia(sessionId, file) {
  const url = `${SESSIONS}/${sessionId}`;
  const res = await fetch(url, {
    method: "PUT",
    headers: { "x-zoom-s2t-key": TOKEN, "x-filename": file.name, "Content-Type": "audio/wav" },
    body: file,
  });
  return res.json();
}

async function align(sessionId, media, transcript) {
  const form = new FormData();
  form.append("media_file", media);
  form.append("transcript_file", transcript);
  const res = await fetch(`${SESSIONS}/${sessionId}/align`, { method: "POST", headers: { "x-zoom-s2t-key": TOKEN }, body: form });
  return res.json();
}

async function result(sessionId) {
  const res = await fetch(`${SESSIONS}/${sessionId}/result`, { headers: { "x-zoom-s2t-key": TOKEN } });
  return res.json();
}

async function remove(sessionId) {
  await axios.delete(`${SESSIONS}/${sessionId}`, { headers: { "x-zoom-s2t-key": TOKEN } });
}

// The V1 upload is PUT /api/v3/speech-to-text/session/{id}; see uploadMedia above.
// await axios.put(`${SESSIONS}/${sessionId}`, file, { headers: { "x-filename": "old.wav" } });

module.exports = { createFromUrl, uploadMedia, align, result, remove };
