// Zoom Media speech-to-text from Node.js, after the API docs' sample (for the scan tests).
const fs = require("fs");
const request = require("request");

const API = "https://api.zoommedia.ai/api/v1/api/v1/speech-to-text/session/";
const TOKEN = process.env.ZOOM_TOKEN;

request.post(
  { url: API, headers: { "X-Zoom-S2T-Token": TOKEN }, json: { language: "nl-nl", punctuation: false } },
  (err, res, data) => {
    if (err) throw err;
    const sessionId = data.sessionId;
    const formData = { upload: fs.createReadStream("interview.mp3") };
    request.post({ url: API + sessionId, headers: { "X-Zoom-S2T-Token": TOKEN }, formData }, (e) => {
      if (e) throw e;
      poll(sessionId);
    });
  }
);

function poll(sessionId) {
  request.get({ url: `${API}${sessionId}`, headers: { "X-Zoom-S2T-Token": TOKEN }, json: true }, (err, res, body) => {
    if (body.done) {
      console.log(body.results.map((r) => r.text).join(" "));
    } else {
      setTimeout(() => poll(sessionId), 5000);
    }
  });
}
