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
   * Downloads the payload at {@code url} (an {@code update/} folder) into {@code into}.
   *
   * @return {@code into}
   * @throws InstallException of kind PAYLOAD naming the URL when a file cannot be fetched or is
   *     larger than payload.json says
   */
  public static Path download(URI url, Path into) throws InstallException {
    String base = url.toString().endsWith("/") ? url.toString() : url + "/";
    HttpClient http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(30))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    try {
      Files.createDirectories(into);
      URI jsonUri = URI.create(base + UpdatePayload.PAYLOAD_JSON);
      Path json = into.resolve(UpdatePayload.PAYLOAD_JSON);
      fetch(http, jsonUri, json, MAX_PAYLOAD_JSON);
      UpdatePayload meta = UpdatePayload.parse(Files.readAllBytes(json), jsonUri.toString());
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
