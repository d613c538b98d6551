/**
 * What a caller of the image builder sees: the {@link io.basalt.image.api.ImagePlan} of a spec with
 * its {@link io.basalt.image.api.DiskLayout}, the {@link io.basalt.image.api.BuildResult} of a
 * build, its {@link io.basalt.image.api.BuildException} and the {@link
 * io.basalt.image.api.Progress} it reports to. The engine ({@code pipeline}) and the format writers
 * live in their own packages.
 */
package io.basalt.image.api;
