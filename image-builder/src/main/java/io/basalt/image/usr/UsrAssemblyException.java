package io.basalt.image.usr;

import java.io.IOException;

/** The base tree lacks something Basalt's /usr needs; names the in-image path. Immutable. */
public final class UsrAssemblyException extends IOException {
  private static final long serialVersionUID = 1L;
  private final String path;

  public UsrAssemblyException(String path, String message) {
    super(path + ": " + message);
    this.path = path;
  }

  /** The in-image path the problem is at. */
  public String path() {
    return path;
  }
}
