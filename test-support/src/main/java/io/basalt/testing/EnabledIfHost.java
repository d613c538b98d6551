package io.basalt.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs a test class or method only on a host that has what it needs; otherwise the test is disabled
 * and the report names each missing requirement. Every requirement given must hold.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(HostCondition.class)
public @interface EnabledIfHost {
  /** Whether the test must run as root ({@code user.name} is {@code root}). */
  boolean root() default false;

  /** Host files or devices that must exist, e.g. {@code /dev/loop-control}. */
  String[] paths() default {};

  /** File systems the kernel must list in {@code /proc/filesystems}, e.g. {@code squashfs}. */
  String[] filesystems() default {};

  /** Programs that must be found on {@code PATH}, e.g. {@code unsquashfs}. */
  String[] tools() default {};

  /** Why the test needs them, added to the reason shown when it is disabled. */
  String reason() default "";
}
