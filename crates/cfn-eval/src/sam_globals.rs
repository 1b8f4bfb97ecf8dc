//! The `Globals` section of a SAM template merged into its resources, as the SAM translator
//! merges it before anything is deployed: a property the resource leaves out comes from
//! `Globals`; maps are merged key by key (the resource's keys win); lists are the global
//! items followed by the resource's. Merged values keep their positions in `Globals`, so a
//! finding about an inherited `Runtime` points at the line that sets it.

use spanned::{Entry, Node, Value};

/// `Globals` keys and the resource type each applies to.
const SECTIONS: [(&str, &str); 6] = [
    ("Function", "AWS::Serverless::Function"),
    ("Api", "AWS::Serverless::Api"),
    ("HttpApi", "AWS::Serverless::HttpApi"),
    ("SimpleTable", "AWS::Serverless::SimpleTable"),
    ("StateMachine", "AWS::Serverless::StateMachine"),
    ("LayerVersion", "AWS::Serverless::LayerVersion"),
];

/// The template with `Globals` merged into its SAM resources; unchanged without `Globals`.
pub fn merge(root: &Node) -> Node {
    let mut out = root.clone();
    let Some(globals) = root.get("Globals") else {
        return out;
    };
    let Value::Map(sections) = &mut out.value else {
        return out;
    };
    for section in sections.iter_mut().filter(|s| s.key == "Resources") {
        let Value::Map(resources) = &mut section.value.value else {
            continue;
        };
        for resource in resources.iter_mut() {
            let Some(resource_type) = resource.value.get("Type").and_then(Node::as_str) else {
                continue;
            };
            let Some(global) = SECTIONS
                .iter()
                .find(|(_, t)| *t == resource_type)
                .and_then(|(key, _)| globals.get(key))
            else {
                continue;
            };
            let Value::Map(entries) = &mut resource.value.value else {
                continue;
            };
            match entries.iter_mut().find(|e| e.key == "Properties") {
                Some(properties) => properties.value = merged(global, &properties.value),
                None => entries.push(Entry {
                    key: "Properties".into(),
                    key_pos: global.pos,
                    value: global.clone(),
                }),
            }
        }
    }
    out
}

/// `local` over `global`, by SAM's rules.
fn merged(global: &Node, local: &Node) -> Node {
    match (&global.value, &local.value) {
        (Value::Map(g), Value::Map(l)) if !is_intrinsic(local) && !is_intrinsic(global) => {
            let mut entries: Vec<Entry> = l.to_vec();
            for entry in g {
                match entries.iter_mut().find(|e| e.key == entry.key) {
                    Some(existing) => existing.value = merged(&entry.value, &existing.value),
                    None => entries.push(entry.clone()),
                }
            }
            Node {
                value: Value::Map(entries),
                pos: local.pos,
                tag: local.tag.clone(),
            }
        }
        (Value::Seq(g), Value::Seq(l)) => Node {
            value: Value::Seq(g.iter().chain(l).cloned().collect()),
            pos: local.pos,
            tag: local.tag.clone(),
        },
        _ => local.clone(),
    }
}

fn is_intrinsic(node: &Node) -> bool {
    matches!(node.as_map(), Some([entry]) if entry.key == "Ref" || entry.key.starts_with("Fn::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_inherit_what_they_leave_out() {
        let root = cfn::load(
            "t.yaml",
            concat!(
                "Transform: AWS::Serverless-2016-10-31\n",
                "Globals:\n",
                "  Function:\n",
                "    Runtime: python3.9\n",
                "    Environment: {Variables: {STAGE: prod, LEVEL: info}}\n",
                "    Layers: [arn:aws:lambda:eu-west-1:123456789012:layer:a:1]\n",
                "Resources:\n",
                "  Own:\n",
                "    Type: AWS::Serverless::Function\n",
                "    Properties:\n",
                "      Runtime: python3.13\n",
                "      Environment: {Variables: {LEVEL: debug}}\n",
                "      Layers: [arn:aws:lambda:eu-west-1:123456789012:layer:b:1]\n",
                "  Bare:\n",
                "    Type: AWS::Serverless::Function\n",
                "  Table:\n",
                "    Type: AWS::DynamoDB::Table\n",
            ),
            cfn::Limits::default(),
        )
        .unwrap();
        let out = merge(&root);
        let own = out
            .pointer(&["Resources", "Own", "Properties"])
            .unwrap()
            .to_json();
        assert_eq!(own["Runtime"], "python3.13");
        assert_eq!(
            own["Environment"]["Variables"],
            serde_json::json!({"LEVEL": "debug", "STAGE": "prod"})
        );
        assert_eq!(own["Layers"].as_array().unwrap().len(), 2);
        let bare = out
            .pointer(&["Resources", "Bare", "Properties", "Runtime"])
            .unwrap();
        assert_eq!((bare.as_str(), bare.pos.line), (Some("python3.9"), 4));
        assert!(out.pointer(&["Resources", "Table", "Properties"]).is_none());
    }
}
