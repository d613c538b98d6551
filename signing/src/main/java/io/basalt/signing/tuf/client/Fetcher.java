package io.basalt.signing.tuf.client;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;

/**
 * Opens a stream on a repository URL. The updater reads at most the bytes it allows from the
 * stream, so implementations need not bound lengths themselves. Implementations must be usable from
 * the thread that drives the {@link Updater}.
 */
@FunctionalInterface
public interface Fetcher {

  /**
   * Opens the resource.
   *
   * @throws io.basalt.signing.tuf.client.FetchException when the server answers with an error
   *     status (404 for a missing file) or the transport fails
   * @throws IOException for other I/O failures
   */
  InputStream open(URI uri) throws IOException;
}
