/** A form's error as an alert (announced when it appears); nothing while there is none. */
export function ErrorAlert({ error }: { error: string }) {
  return error ? (
    <p role="alert" className="error">
      {error}
    </p>
  ) : null;
}
