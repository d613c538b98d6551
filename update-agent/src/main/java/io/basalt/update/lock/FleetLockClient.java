package io.basalt.update.lock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A client of the FleetLock protocol (as Zincati speaks it): {@code POST {base}/v1/pre-reboot} to
 * take a reboot slot and {@code POST {base}/v1/steady-state} to give it back, with header {@code
 * fleet-lock-protocol: true} and body {@code {"client_params":{"id":..,"group":..}}}. Thread-safe.
 */
public final class FleetLockClient {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final Duration timeout;
  private final HttpClient http;
  private final String token;

  /**
   * A client of the server at {@code base} (e.g. {@code http://fleetlock.example:3333}) that sends
   * no credentials.
   *
   * @throws IllegalArgumentException if {@code base} is not an http(s) URL
   */
  public FleetLockClient(URI base, Duration timeout) {
    this(base, timeout, null);
  }

  /**
   * A client of the server at {@code base} that sends {@code Authorization: Bearer token} with
   * every request (no header when {@code token} is null).
   *
   * @throws IllegalArgumentException if {@code base} is not an http(s) URL or the token is empty or
   *     holds characters a header cannot carry
   */
  public FleetLockClient(URI base, Duration timeout, String token) {
    if (token != null && !FleetLockToken.isValid(token)) {
      throw new IllegalArgumentException(
          "FleetLock token must be 1-4096 visible ASCII characters without spaces");
    }
    this.token = token;
    String scheme = base.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme) || base.getHost() == null) {
      throw new IllegalArgumentException(
          "FleetLock base URL must be http(s)://host[:port][/path], got " + base);
    }
    String s = base.toString().replaceAll("/+$", "");
    this.base = URI.create(s);
    this.timeout = timeout;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(timeout)
            .build();
  }

  /**
   * Asks for a reboot slot; returns normally when it is granted (or already held).
   *
   * @throws FleetLockException when the server refuses, with its error kind and text
   * @throws IOException when the server cannot be reached
   */
  public void preReboot(String id, String group) throws IOException {
    post("/v1/pre-reboot", id, group);
  }

  /**
   * Gives the slot back (steady state reached); fine when none is held.
   *
   * @throws FleetLockException when the server refuses, with its error kind and text
   * @throws IOException when the server cannot be reached
   */
  public void steadyState(String id, String group) throws IOException {
    post("/v1/steady-state", id, group);
  }

  private void post(String path, String id, String group) throws IOException {
    ObjectNode body = JSON.createObjectNode();
    ObjectNode params = body.putObject("client_params");
    params.put("id", id);
    params.put("group", group == null || group.isEmpty() ? "default" : group);
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(timeout)
            .header("fleet-lock-protocol", "true")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpRequest req = b.build();
    HttpResponse<byte[]> resp;
    try {
      resp = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while calling FleetLock at " + base);
    } catch (IOException e) {
      throw new IOException(
          "FleetLock server "
              + base
              + " unreachable: "
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage()),
          e);
    }
    if (resp.statusCode() == 200) {
      return;
    }
    String raw = new String(resp.body(), StandardCharsets.UTF_8).strip();
    String kind = "";
    String value = raw;
    try {
      JsonNode n = JSON.readTree(raw);
      if (n != null && n.isObject() && (n.has("kind") || n.has("value"))) {
        kind = n.path("kind").asText("");
        value = n.path("value").asText("");
      }
    } catch (IOException notJson) {
      // surface the raw body
    }
    throw new FleetLockException("FleetLock " + base + path, resp.statusCode(), kind, value);
  }
}
