package io.basalt.signing.tuf.client;

import io.basalt.signing.tuf.TufException;
import java.net.URI;

/** A download failed below TUF: connection error or HTTP status other than 200. */
public final class FetchException extends TufException {
  private static final long serialVersionUID = 1L;
  private final URI uri;
  private final int status;

  /** Creates the exception; status is the HTTP status or -1 for transport errors. */
  public FetchException(URI uri, int status, String detail, Throwable cause) {
    super(null, "fetching " + uri + ": " + detail, cause);
    this.uri = uri;
    this.status = status;
  }

  /** The URI that failed. */
  public URI uri() {
    return uri;
  }

  /** The HTTP status, or -1. */
  public int status() {
    return status;
  }

  /** Whether the server said the file does not exist (404 or 403, as TUF clients treat them). */
  public boolean notFound() {
    return status == 404 || status == 403;
  }
}
