package io.basalt.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class of the {@code qemu-long} tier: disabled, with the reason in the report, unless
 * {@code -Dbasalt.qemu.long=true} or one of {@link #orWhenSet()} is given.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag(Tiers.QEMU_LONG)
@ExtendWith(HostCondition.class)
public @interface QemuLongTest {
  /**
   * System properties that also switch the class on when set to any value, e.g. inputs built
   * beforehand ({@code basalt.qemu.image}, {@code basalt.qemu.update.images}).
   */
  String[] orWhenSet() default {};
}
