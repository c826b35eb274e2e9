export const SIGN_IN_HELP =
  'Not signed in to Basecamp. Run `basecamp-people-mcp login` (OAuth, keeps you signed in), or set BASECAMP_ACCESS_TOKEN ' +
  '(and BASECAMP_ACCOUNT_ID if the token reaches several accounts). To try the server without a Basecamp account, start it ' +
  'with `basecamp-people-mcp serve --sandbox`.';
