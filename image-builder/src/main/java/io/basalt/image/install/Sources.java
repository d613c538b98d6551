package io.basalt.image.install;

import io.basalt.host.HostPaths;
import io.basalt.host.UpdatePayload;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Where {@code basalt install --source} finds the payload: a folder holding {@code payload.json} (a
 * build's {@code update/}, the ISO's {@code /basalt/update}), a build folder or a mounted ISO
 * (their {@code update/} or {@code basalt/update/}), or an http(s) URL of an {@code update/}
 * folder, whose {@code payload.json} and files are downloaded into a work folder, each bounded by
 * the size payload.json gives (and verified afterwards like a local payload). Stateless,
 * thread-safe.
 */
public final class Sources {
  private static final int MAX_PAYLOAD_JSON = 1 << 20;

  private Sources() {}

  /**
   * The payload folder of a local {@code --source}.
   *
   * @throws InstallException of kind PAYLOAD when none of the places holds a payload.json
   */
  public static Path folder(Path source) throws InstallException {
    for (Path p :
        new Path[] {source, source.resolve("update"), source.resolve("basalt").resolve("update")}) {
      if (Files.isRegularFile(p.resolve(UpdatePayload.PAYLOAD_JSON))) {
        return p;
      }
    }
    throw new InstallException(
        InstallException.Kind.PAYLOAD,
        source
            + ": no "
            + UpdatePayload.PAYLOAD_JSON
            + " in it, in update/ or in basalt/update/ (give a build folder, its update/ folder"
            + " or the ISO's basalt/update/)");
  }

  /**
   * The payload of the medium a live system booted from, when neither {@code --source} nor {@code
   * --repo} is given: the ISO's {@code basalt/update/} where the live system mounted it ({@link
   * HostPaths#OEM_MOUNT}, an ISO that carries a cloud-config is labelled OEM).
   *
   * @param systemRoot where {@code /run} is
   * @throws InstallException of kind USAGE saying what to give when there is none
   */
  public static Path bootMedium(Path systemRoot) throws InstallException {
    Path oem = systemRoot.resolve(HostPaths.OEM_MOUNT.substring(1)).resolve("basalt/update");
    if (Files.isRegularFile(oem.resolve(UpdatePayload.PAYLOAD_JSON))) {
      return oem;
    }
    throw new InstallException(
        InstallException.Kind.USAGE,
        "no --source or --repo given and no boot medium with a payload at "
            + HostPaths.OEM_MOUNT
            + "/basalt/update: give a build folder, an update/ folder or its URL (--source), a TUF"
            + " repository (--repo), or mount the ISO (mount -o ro /dev/sr0 /mnt) and give"
            + " --source /mnt");
  }

  /**
   * Downloads the payload at {@code url} (an {@code update/} folder) into a new folder under the
   * first of {@code places} with room for it (payload.json's sizes plus 1 MiB): a host's /tmp may
   * sit on a small ROOT, its /dev/shm in RAM.
   *
   * @return the new folder; the caller deletes it
   * @throws InstallException of kind PAYLOAD naming the URL when a file cannot be fetched or is
   *     larger than payload.json says, or none of the places has room
   */
  public static Path download(URI url, List<Path> places) throws InstallException {
    String base = url.toString().endsWith("/") ? url.toString() : url + "/";
    HttpClient http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(30))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    try {
      URI jsonUri = URI.create(base + UpdatePayload.PAYLOAD_JSON);
      byte[] json = fetchBytes(http, jsonUri, MAX_PAYLOAD_JSON);
      UpdatePayload meta = UpdatePayload.parse(json, jsonUri.toString());
      long need = 1 << 20;
      for (UpdatePayload.FileEntry f : meta.files()) {
        need += f.size();
      }
      Path into = null;
      for (Path p : places) {
        if (Files.isDirectory(p) && Files.getFileStore(p).getUsableSpace() >= need) {
          into = Files.createTempDirectory(p, "basalt-install-");
          break;
        }
      }
      if (into == null) {
        throw new IOException(
            base + ": the payload needs " + need + " bytes and none of " + places + " has room");
      }
      Files.write(into.resolve(UpdatePayload.PAYLOAD_JSON), json);
      for (UpdatePayload.FileEntry f : meta.files()) {
        fetch(http, URI.create(base + f.path()), into.resolve(f.path()), f.size());
      }
      return into;
    } catch (IOException e) {
      throw new InstallException(InstallException.Kind.PAYLOAD, e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InstallException(
          InstallException.Kind.PAYLOAD, base + ": interrupted while downloading", e);
    }
  }

  private static byte[] fetchBytes(HttpClient http, URI uri, int max)
      throws IOException, InterruptedException {
    HttpResponse<InputStream> r =
        http.send(
            HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      if (r.statusCode() != 200) {
        throw new IOException(uri + ": HTTP " + r.statusCode());
      }
      byte[] b = in.readNBytes(max + 1);
      if (b.length > max) {
        throw new IOException(uri + ": more than the " + max + " bytes expected");
      }
      return b;
    }
  }

  private static void fetch(HttpClient http, URI uri, Path to, long max)
      throws IOException, InterruptedException {
    HttpResponse<InputStream> r =
        http.send(
            HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      if (r.statusCode() != 200) {
        throw new IOException(uri + ": HTTP " + r.statusCode());
      }
      long n = 0;
      byte[] buf = new byte[1 << 16];
      try (OutputStream out = Files.newOutputStream(to)) {
        int k;
        while ((k = in.read(buf)) > 0) {
          n += k;
          if (n > max) {
            throw new IOException(uri + ": more than the " + max + " bytes expected");
          }
          out.write(buf, 0, k);
        }
      }
    }
  }
}
