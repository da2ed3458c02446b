# Legacy V1 upload with Net::HTTP (sample for the scan tests).
require "net/http"
require "uri"

SESSIONS = "https://api.scriptix.io/api/v3/speech-to-text/session"

def upload_media(session_id, path, token)
  uri = URI("#{SESSIONS}/#{session_id}")
  request = Net::HTTP::Put.new(uri)
  request["x-zoom-s2t-key"] = token
  request["x-filename"] = File.basename(path)
  request["Content-Type"] = "audio/wav"
  request.body = File.binread(path)
  Net::HTTP.start(uri.host, uri.port, use_ssl: true) { |http| http.request(request) }
end

def result(session_id, token)
  uri = URI("#{SESSIONS}/#{session_id}/result")
  Net::HTTP.get(uri, { "x-zoom-s2t-key" => token })
end
