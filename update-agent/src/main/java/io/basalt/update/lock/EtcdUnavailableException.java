package io.basalt.update.lock;

/**
 * No etcd endpoint could be reached or none had a working cluster behind it; the message lists
 * every endpoint with the reason it failed. Immutable.
 */
public final class EtcdUnavailableException extends EtcdException {
  private static final long serialVersionUID = 1L;

  public EtcdUnavailableException(String message) {
    super(message, 14);
  }
}
