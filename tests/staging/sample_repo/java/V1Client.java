package com.example.scriptix;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

/** Legacy V1 upload with java.net.http (sample for the scan tests). */
public final class V1Client {
    private static final String SESSIONS = "https://api.scriptix.io/api/v3/speech-to-text/session";
    private final HttpClient http = HttpClient.newHttpClient();

    public String upload(String token, String sessionId, Path media) throws Exception {
        HttpRequest request = HttpRequest.newBuilder()
                .uri(URI.create(SESSIONS + "/" + sessionId))
                .header("x-zoom-s2t-key", token)
                .header("x-filename", media.getFileName().toString())
                .header("Content-Type", "audio/wav")
                .PUT(HttpRequest.BodyPublishers.ofFile(media))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }

    public String result(String token, String sessionId) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(SESSIONS + "/" + sessionId + "/result"))
                .header("x-zoom-s2t-key", token)
                .GET()
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }
}
