package io.basalt.testing;

/**
 * The names of the test tiers, as JUnit 5 tags and as Maven profiles ({@code -Ptier-NAME}).
 *
 * <ul>
 *   <li>{@code unit}: Surefire, {@code *Test} classes, in memory; no tag.
 *   <li>{@code it}: Failsafe, {@code *IT} classes without a QEMU tag (reference tools, etcd).
 *   <li>{@code qemu}: Failsafe, classes marked {@link QemuTest}: the QEMU boots CI runs.
 *   <li>{@code qemu-long}: Failsafe, classes marked {@link QemuLongTest}: opt-in long scenarios.
 * </ul>
 */
public final class Tiers {
  /** Tag of the QEMU boots that every {@code mvn verify} runs. */
  public static final String QEMU = "qemu";

  /** Tag of the long QEMU scenarios, run only when switched on. */
  public static final String QEMU_LONG = "qemu-long";

  /** The system property that switches the long QEMU scenarios on ({@code true}). */
  public static final String QEMU_LONG_PROPERTY = "basalt.qemu.long";

  private Tiers() {}
}
