package io.basalt.update.lock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The FleetLock bearer token: read from a file shared by {@code basalt fleetlock serve} and the
 * agents that call it, compared in constant time. Stateless; thread-safe.
 */
public final class FleetLockToken {

  private static final int MAX_LENGTH = 4096;

  private FleetLockToken() {}

  /**
   * Whether {@code token} can travel in an {@code Authorization: Bearer} header: 1-4096 visible
   * ASCII characters, no spaces.
   */
  public static boolean isValid(String token) {
    if (token.isEmpty() || token.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c <= ' ' || c > '~') {
        return false;
      }
    }
    return true;
  }

  /**
   * Reads the token from {@code file}: its content with surrounding whitespace (a trailing newline)
   * removed.
   *
   * @param what names the setting that gave the path, for errors (e.g. {@code --token-file})
   * @throws IOException naming the file and the setting when it is missing, unreadable, empty or
   *     not a valid token
   */
  public static String read(Path file, String what) throws IOException {
    String text;
    try {
      text =
          StandardCharsets.US_ASCII
              .newDecoder()
              .decode(ByteBuffer.wrap(Files.readAllBytes(file)))
              .toString();
    } catch (NoSuchFileException e) {
      throw new IOException(what + " " + file + ": no such file; it must hold the FleetLock token");
    } catch (CharacterCodingException e) {
      throw new IOException(what + " " + file + ": the token must be ASCII");
    } catch (IOException e) {
      throw new IOException(what + " " + file + ": cannot read the token: " + e.getMessage(), e);
    }
    String token = text.strip();
    if (!isValid(token)) {
      throw new IOException(
          what
              + " "
              + file
              + ": expected one token of 1-"
              + MAX_LENGTH
              + " visible ASCII characters without spaces");
    }
    return token;
  }

  /**
   * Compares {@code given} with {@code expected} in time independent of where they differ and of
   * their lengths (both are hashed first).
   */
  public static boolean matches(String expected, String given) {
    if (given == null) {
      return false;
    }
    try {
      MessageDigest a = MessageDigest.getInstance("SHA-256");
      MessageDigest b = MessageDigest.getInstance("SHA-256");
      return MessageDigest.isEqual(
          a.digest(expected.getBytes(StandardCharsets.UTF_8)),
          b.digest(given.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
