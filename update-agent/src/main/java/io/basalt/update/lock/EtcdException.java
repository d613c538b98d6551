package io.basalt.update.lock;

import java.io.IOException;

/**
 * etcd answered a request with an error (permission denied, future revision, bad request...); the
 * message names the endpoint, the HTTP status and etcd's own message. Immutable.
 */
public class EtcdException extends IOException {
  private static final long serialVersionUID = 1L;

  private final int grpcCode;

  public EtcdException(String message, int grpcCode) {
    super(message);
    this.grpcCode = grpcCode;
  }

  public EtcdException(String message, Throwable cause) {
    super(message, cause);
    this.grpcCode = -1;
  }

  /** etcd's gRPC status code (for example 7 permission denied, 16 unauthenticated), or -1. */
  public int grpcCode() {
    return grpcCode;
  }
}
