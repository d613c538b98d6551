package io.basalt.testing;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

/** The package-cycle rule every module's build checks on its main code. Stateless. */
public final class PackageCycles {
  private PackageCycles() {}

  /**
   * Fails when two packages under {@code rootPackage} (main code only) depend on each other,
   * directly or through others: each package, the root one included, is its own slice.
   *
   * @throws AssertionError listing every cycle found
   */
  public static void assertFree(String rootPackage) {
    JavaClasses main =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(rootPackage);
    slices().matching("io.basalt.(**)").should().beFreeOfCycles().check(main);
  }
}
