package io.basalt.signing.tuf.repo;

import java.io.Console;
import java.io.IOException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Where private-key passphrases come from: the environment ({@code BASALT_KEY_PASSPHRASE_<ROLE>},
 * then {@code BASALT_KEY_PASSPHRASE}) or, failing that, a prompt on the terminal. Answers are
 * cached per role for one run. Not thread-safe.
 */
public final class Passphrases {
  /** The environment variable read for every role. */
  public static final String ENV = "BASALT_KEY_PASSPHRASE";

  private final Function<String, String> env;
  private final Console console;
  private final Map<String, char[]> cache = new HashMap<>();

  /** Reads the process environment and, when there is one, the terminal. */
  public static Passphrases system() {
    return new Passphrases(System::getenv, System.console());
  }

  /** Reads only the given environment (for tests and non-interactive use). */
  public static Passphrases fromEnvironment(Map<String, String> env) {
    return new Passphrases(env::get, null);
  }

  private Passphrases(Function<String, String> env, Console console) {
    this.env = env;
    this.console = console;
  }

  /**
   * The per-role variable name: {@code BASALT_KEY_PASSPHRASE_} + role upper-cased,
   * non-alphanumerics as '_'.
   */
  public static String envName(String role) {
    return ENV + "_" + role.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
  }

  /**
   * The passphrase protecting the keys of a role.
   *
   * @param confirm ask twice when prompting (for new keys)
   * @throws IOException when no passphrase is available
   */
  public char[] forRole(String role, boolean confirm) throws IOException {
    char[] cached = cache.get(role);
    if (cached != null) {
      return cached;
    }
    String v = env.apply(envName(role));
    if (v == null || v.isEmpty()) {
      v = env.apply(ENV);
    }
    char[] out;
    if (v != null && !v.isEmpty()) {
      out = v.toCharArray();
    } else if (console != null) {
      out = console.readPassword("Passphrase for %s keys: ", role);
      if (out == null || out.length == 0) {
        throw new IOException("no passphrase given for the " + role + " keys");
      }
      if (confirm) {
        char[] again = console.readPassword("Repeat the passphrase for %s keys: ", role);
        if (again == null || !java.util.Arrays.equals(out, again)) {
          throw new IOException("the passphrases for the " + role + " keys do not match");
        }
      }
    } else {
      throw new IOException(
          "no passphrase for the "
              + role
              + " keys: set "
              + envName(role)
              + " or "
              + ENV
              + ", or run in a terminal to be prompted");
    }
    cache.put(role, out);
    return out;
  }
}
