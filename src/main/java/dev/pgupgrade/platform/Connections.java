package dev.pgupgrade.platform;

import dev.pgupgrade.steps.StepSpec;

/** How a platform's steps reach the databases: the direct platform by URL from Secrets, Aptible through db:tunnel. */
interface Connections {
    /** The step, able to reach the source and/or the target. */
    StepSpec connect(StepSpec step, boolean source, boolean target);
}
