/**
 * Exit codes of the `botfleet` command, one per kind of failure, so scripts can tell them apart
 * (`botfleet --help` lists them).
 */
export const EXIT = {
  ok: 0,
  /** The cloud refused or failed the operation, or the bot refused it (a restore that did not verify). */
  failed: 1,
  /** Bad arguments, an unknown bot, or a fleet file that does not load. */
  usage: 2,
  /** No credentials: not signed in. */
  notSignedIn: 3,
  /** Signed in, but the identity may not do this. */
  forbidden: 4,
  /** Nothing there: no such snapshot, no state yet. */
  notFound: 5,
  /** Asked and still waiting: the bot did not answer in time (the request stays). */
  timedOut: 6,
  /** The confirmation was declined. */
  declined: 7,
} as const;

export class OperationError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = "OperationError";
  }
}

/** How to sign in to each cloud, the way Terraform is signed in. */
export const SIGN_IN = {
  azure: "`az login` (or ARM_CLIENT_ID, ARM_CLIENT_SECRET and ARM_TENANT_ID, or ARM_USE_OIDC / ARM_USE_MSI, as for Terraform)",
  gcp: "`gcloud auth application-default login` (or GOOGLE_APPLICATION_CREDENTIALS, as for Terraform)",
} as const;

/**
 * The error an SDK call threw, as the command reports it: no credentials and no permission get
 * their own exit codes and say how to fix them.
 */
export function cloudError(e: unknown, cloud: keyof typeof SIGN_IN, what: string, role: string): OperationError {
  if (e instanceof OperationError) return e;
  const err = e as { name?: string; message?: string; statusCode?: number; code?: number | string };
  const message = err.message ?? String(e);
  if (
    ["CredentialUnavailableError", "AuthenticationRequiredError", "AuthenticationError"].includes(err.name ?? "") ||
    /Could not load the default credentials|Unable to detect a Project Id/.test(message)
  )
    return new OperationError(`${what}: not signed in to ${cloud === "azure" ? "Azure" : "Google Cloud"} (${firstLine(message)}). Sign in with ${SIGN_IN[cloud]}.`, EXIT.notSignedIn);
  // Google's clients over gRPC or their HTTP/JSON fallback say a gRPC status code (16
  // UNAUTHENTICATED, 7 PERMISSION_DENIED), no HTTP status has those numbers.
  const grpc = typeof err.code === "number" ? ({ 16: 401, 7: 403 } as Record<number, number>)[err.code] : undefined;
  const status = err.statusCode ?? grpc ?? (typeof err.code === "number" ? err.code : undefined);
  if (status === 401) return new OperationError(`${what}: the cloud refused the credentials (${firstLine(message)}). Sign in again with ${SIGN_IN[cloud]}.`, EXIT.notSignedIn);
  if (status === 403) return new OperationError(`${what}: not allowed (${firstLine(message)}). Your identity needs ${role}.`, EXIT.forbidden);
  return new OperationError(`${what}: ${firstLine(message)}`, EXIT.failed);
}

function firstLine(text: string): string {
  return text.split("\n")[0].slice(0, 300);
}
