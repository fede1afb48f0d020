import { SignInForm } from "../../web/signin-form.tsx";

export const dynamic = "force-dynamic";

export default function SignInPage() {
  return <SignInForm />;
}
